# Windows rollout VMs: a scale set on the private VM subnet, no public addresses, bootstrapped by
# modules/vm_bootstrap to run the lam-rl VM agent with its token from Key Vault.
resource "random_password" "vm_admin" {
  length           = 32
  special          = true
  override_special = "!@#%^*-_=+"
}

resource "azurerm_windows_virtual_machine_scale_set" "vms" {
  name                       = local.names.vmss
  location                   = azurerm_resource_group.main.location
  resource_group_name        = azurerm_resource_group.main.name
  computer_name_prefix       = local.names.vm_computer_name
  sku                        = var.vm_size
  instances                  = var.vm_count
  admin_username             = "lamrladmin"
  admin_password             = random_password.vm_admin.result
  license_type               = "Windows_Client"
  upgrade_mode               = "Manual"
  encryption_at_host_enabled = true
  secure_boot_enabled        = true
  vtpm_enabled               = true
  enable_automatic_updates   = true
  provision_vm_agent         = true
  custom_data                = module.vm_bootstrap.custom_data
  zones                      = ["1", "2", "3"]
  tags                       = local.tags

  source_image_reference {
    publisher = var.vm_image.publisher
    offer     = var.vm_image.offer
    sku       = var.vm_image.sku
    version   = var.vm_image.version
  }

  os_disk {
    caching              = "ReadWrite"
    storage_account_type = "Premium_LRS"
  }

  network_interface {
    name                      = "nic"
    primary                   = true
    network_security_group_id = azurerm_network_security_group.vms.id

    ip_configuration {
      name      = "internal"
      primary   = true
      subnet_id = azurerm_subnet.vms.id
    }
  }

  identity {
    type = "SystemAssigned"
  }

  boot_diagnostics {}

  extension {
    name                       = "lam-rl-bootstrap"
    publisher                  = "Microsoft.Compute"
    type                       = "CustomScriptExtension"
    type_handler_version       = "1.10"
    auto_upgrade_minor_version = true
    protected_settings         = jsonencode({ commandToExecute = module.vm_bootstrap.command_to_execute })
  }

  lifecycle {
    precondition {
      condition     = module.vm_bootstrap.agent_port == var.vm_agent_port
      error_message = "the bootstrap and the NSG must open the same agent port."
    }
  }

  depends_on = [azurerm_key_vault_secret.vm_token]
}

resource "azurerm_role_assignment" "vms_kv" {
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_windows_virtual_machine_scale_set.vms.identity[0].principal_id
}

# the VMs' addresses, for the rollout config's VM list
data "azurerm_virtual_machine_scale_set" "vms" {
  name                = azurerm_windows_virtual_machine_scale_set.vms.name
  resource_group_name = azurerm_resource_group.main.name
}

module "vm_endpoints" {
  source = "./modules/vm_endpoints"
  ips    = [for i in data.azurerm_virtual_machine_scale_set.vms.instances : i.private_ip_address]
  port   = var.vm_agent_port
}
