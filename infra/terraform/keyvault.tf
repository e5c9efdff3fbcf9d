# The VM agents' bearer token: generated here, kept in Key Vault for the VMs (read with their managed
# identity at boot) and copied into a Kubernetes Secret for the rollout workers.
resource "azurerm_key_vault" "main" {
  name                          = local.names.key_vault
  location                      = azurerm_resource_group.main.location
  resource_group_name           = azurerm_resource_group.main.name
  tenant_id                     = data.azurerm_client_config.current.tenant_id
  sku_name                      = "standard"
  enable_rbac_authorization     = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = 30
  public_network_access_enabled = true
  tags                          = local.tags

  # Terraform writes the secret from the admin ranges, the VMs read it from their subnet; everything
  # else is denied
  network_acls {
    default_action = "Deny"
    bypass         = "AzureServices"
    ip_rules       = var.admin_ip_ranges
    # the VMs read the token at boot
    virtual_network_subnet_ids = [azurerm_subnet.vms.id]
  }
}

resource "azurerm_role_assignment" "kv_terraform" {
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "random_password" "vm_token" {
  length  = 48
  special = false
}

resource "time_rotating" "vm_token" {
  rotation_days = 365
}

resource "azurerm_key_vault_secret" "vm_token" {
  name            = "vm-agent-token"
  value           = random_password.vm_token.result
  key_vault_id    = azurerm_key_vault.main.id
  content_type    = "text/plain; lam-rl VM agent bearer token"
  expiration_date = time_rotating.vm_token.rotation_rfc3339
  depends_on      = [azurerm_role_assignment.kv_terraform]
}
