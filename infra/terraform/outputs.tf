output "resource_group" {
  description = "Resource group of the deployment."
  value       = azurerm_resource_group.main.name
}

output "aks_name" {
  description = "AKS cluster name (az aks get-credentials --name ...)."
  value       = azurerm_kubernetes_cluster.aks.name
}

output "acr_login_server" {
  description = "Registry to push the lam-rl image to (docker push <acr_login_server>/lam-rl:<tag>)."
  value       = azurerm_container_registry.main.login_server
}

output "store_uri" {
  description = "Object-store root for trajectory stores (deploy.store_uri)."
  value       = "az://${azurerm_storage_container.runs.name}/runs"
}

output "storage_account" {
  description = "Storage account of store_uri (deploy.storage_account)."
  value       = azurerm_storage_account.main.name
}

output "vm_endpoints" {
  description = "Agent URL of every Windows VM, for the rollout config's VM list."
  value       = module.vm_endpoints.urls
}

output "vm_fleet_override" {
  description = "The rollout config's VM list as one override (fleet.vms=[...]); add it to the render overrides of the rollout phases."
  value       = module.vm_endpoints.fleet_override
}

output "key_vault" {
  description = "Key Vault holding the VM agent token (secret vm-agent-token)."
  value       = azurerm_key_vault.main.name
}

output "workload_identity_client_id" {
  description = "Client ID of the Ray pods' workload identity."
  value       = azurerm_user_assigned_identity.workload.client_id
}

output "lam_rl_overrides" {
  description = "Config overrides for `lam-rl infra render` on this deployment (terraform output -json lam_rl_overrides > deploy.json; lam-rl infra render PHASE --overrides-file deploy.json)."
  value = [
    "deploy.image=${azurerm_container_registry.main.login_server}/lam-rl:${var.image_tag}",
    "deploy.store_uri=az://${azurerm_storage_container.runs.name}/runs",
    "deploy.storage_account=${azurerm_storage_account.main.name}",
    "deploy.namespace=${local.k8s_namespace}",
    "deploy.service_account=${local.k8s_service_account}",
    "deploy.cpu_pool=cpu",
    "deploy.gpu_pool=gpu",
  ]
}
