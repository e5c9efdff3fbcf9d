resource "azurerm_virtual_network" "main" {
  name                = local.names.virtual_network
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  address_space       = [var.address_space]
  tags                = local.tags
}

resource "azurerm_subnet" "aks" {
  name                 = "snet-aks-nodes"
  resource_group_name  = azurerm_resource_group.main.name
  virtual_network_name = azurerm_virtual_network.main.name
  address_prefixes     = [module.network.subnets.aks_nodes]
}

resource "azurerm_network_security_group" "aks" {
  name                = local.names.nsg_aks
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
}

resource "azurerm_subnet_network_security_group_association" "aks" {
  subnet_id                 = azurerm_subnet.aks.id
  network_security_group_id = azurerm_network_security_group.aks.id
}

resource "azurerm_subnet" "vms" {
  name                            = "snet-vms"
  resource_group_name             = azurerm_resource_group.main.name
  virtual_network_name            = azurerm_virtual_network.main.name
  address_prefixes                = [module.network.subnets.vms]
  default_outbound_access_enabled = false
  # the VMs read their token from Key Vault through a service endpoint
  service_endpoints = ["Microsoft.KeyVault"]
}

resource "azurerm_subnet" "endpoints" {
  name                              = "snet-endpoints"
  resource_group_name               = azurerm_resource_group.main.name
  virtual_network_name              = azurerm_virtual_network.main.name
  address_prefixes                  = [module.network.subnets.endpoints]
  private_endpoint_network_policies = "Enabled"
  default_outbound_access_enabled   = false
}

# The VMs have no public addresses; they reach Python, pip and Windows Update through a NAT gateway.
resource "azurerm_public_ip" "nat" {
  name                = local.names.nat_public_ip
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  allocation_method   = "Static"
  sku                 = "Standard"
  zones               = ["1"]
  tags                = local.tags
}

resource "azurerm_nat_gateway" "vms" {
  name                = local.names.nat_gateway
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  sku_name            = "Standard"
  zones               = ["1"]
  tags                = local.tags
}

resource "azurerm_nat_gateway_public_ip_association" "vms" {
  nat_gateway_id       = azurerm_nat_gateway.vms.id
  public_ip_address_id = azurerm_public_ip.nat.id
}

resource "azurerm_subnet_nat_gateway_association" "vms" {
  subnet_id      = azurerm_subnet.vms.id
  nat_gateway_id = azurerm_nat_gateway.vms.id
}

# VM subnet: the agent port from the AKS node subnet only (overlay pod traffic leaves with its node's
# address); nothing else comes in, RDP included.
resource "azurerm_network_security_group" "vms" {
  name                = local.names.nsg_vms
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags

  security_rule {
    name                       = "allow-agent-from-aks"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = tostring(var.vm_agent_port)
    source_address_prefix      = module.network.subnets.aks_nodes
    destination_address_prefix = module.network.subnets.vms
  }

  security_rule {
    name                       = "deny-vnet-inbound"
    priority                   = 4000
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "VirtualNetwork"
    destination_address_prefix = "*"
  }
}

resource "azurerm_subnet_network_security_group_association" "vms" {
  subnet_id                 = azurerm_subnet.vms.id
  network_security_group_id = azurerm_network_security_group.vms.id
}

resource "azurerm_network_security_group" "endpoints" {
  name                = local.names.nsg_endpoints
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags

  security_rule {
    name                       = "allow-https-from-aks"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "443"
    source_address_prefix      = module.network.subnets.aks_nodes
    destination_address_prefix = module.network.subnets.endpoints
  }
}

resource "azurerm_subnet_network_security_group_association" "endpoints" {
  subnet_id                 = azurerm_subnet.endpoints.id
  network_security_group_id = azurerm_network_security_group.endpoints.id
}

resource "azurerm_private_dns_zone" "blob" {
  name                = "privatelink.blob.core.windows.net"
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
}

resource "azurerm_private_dns_zone_virtual_network_link" "blob" {
  name                  = "blob"
  resource_group_name   = azurerm_resource_group.main.name
  private_dns_zone_name = azurerm_private_dns_zone.blob.name
  virtual_network_id    = azurerm_virtual_network.main.id
  tags                  = local.tags
}
