resource "azurerm_kubernetes_cluster" "aks" {
  name                         = local.names.aks
  location                     = azurerm_resource_group.main.location
  resource_group_name          = azurerm_resource_group.main.name
  node_resource_group          = local.names.aks_node_rg
  dns_prefix                   = local.names.aks_dns_prefix
  kubernetes_version           = var.kubernetes_version
  sku_tier                     = "Standard"
  automatic_upgrade_channel    = "patch"
  node_os_upgrade_channel      = "NodeImage"
  oidc_issuer_enabled          = true
  workload_identity_enabled    = true
  local_account_disabled       = true
  azure_policy_enabled         = true
  image_cleaner_enabled        = true
  image_cleaner_interval_hours = 48
  tags                         = local.tags

  default_node_pool {
    name                         = "system"
    vm_size                      = module.node_pools.pools.system.vm_size
    node_count                   = module.node_pools.pools.system.node_count
    only_critical_addons_enabled = true
    host_encryption_enabled      = true
    vnet_subnet_id               = azurerm_subnet.aks.id
    zones                        = module.node_pools.zones
    max_pods                     = module.node_pools.max_pods
    os_disk_size_gb              = module.node_pools.pools.system.os_disk_size_gb
    os_disk_type                 = "Ephemeral"
    node_labels                  = module.node_pools.pools.system.node_labels
    temporary_name_for_rotation  = "systemtmp"
    upgrade_settings {
      max_surge = "33%"
    }
  }

  identity {
    type = "SystemAssigned"
  }

  azure_active_directory_role_based_access_control {
    tenant_id              = data.azurerm_client_config.current.tenant_id
    azure_rbac_enabled     = true
    admin_group_object_ids = var.admin_group_object_ids
  }

  api_server_access_profile {
    authorized_ip_ranges = var.admin_ip_ranges
  }

  network_profile {
    network_plugin      = "azure"
    network_plugin_mode = "overlay"
    network_data_plane  = "cilium"
    network_policy      = "cilium"
    pod_cidr            = module.network.pod_cidr
    service_cidr        = module.network.service_cidr
    dns_service_ip      = module.network.dns_service_ip
    load_balancer_sku   = "standard"
  }

  oms_agent {
    log_analytics_workspace_id      = azurerm_log_analytics_workspace.main.id
    msi_auth_for_monitoring_enabled = true
  }
}

resource "azurerm_kubernetes_cluster_node_pool" "user" {
  for_each = module.node_pools.user_pools

  name                    = each.key
  kubernetes_cluster_id   = azurerm_kubernetes_cluster.aks.id
  mode                    = each.value.mode
  vm_size                 = each.value.vm_size
  auto_scaling_enabled    = each.value.auto_scaling_enabled
  min_count               = each.value.min_count
  max_count               = each.value.max_count
  node_labels             = each.value.node_labels
  node_taints             = each.value.node_taints
  os_disk_size_gb         = each.value.os_disk_size_gb
  host_encryption_enabled = true
  max_pods                = module.node_pools.max_pods
  vnet_subnet_id          = azurerm_subnet.aks.id
  zones                   = module.node_pools.zones
  tags                    = local.tags

  upgrade_settings {
    max_surge = "10%"
  }
}

# The identity that runs Terraform administers the cluster (the kubernetes and helm providers use it).
resource "azurerm_role_assignment" "aks_admin_terraform" {
  scope                = azurerm_kubernetes_cluster.aks.id
  role_definition_name = "Azure Kubernetes Service RBAC Cluster Admin"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "azurerm_container_registry" "main" {
  name                          = local.names.container_reg
  location                      = azurerm_resource_group.main.location
  resource_group_name           = azurerm_resource_group.main.name
  sku                           = "Premium"
  admin_enabled                 = false
  public_network_access_enabled = true
  zone_redundancy_enabled       = true
  data_endpoint_enabled         = true
  retention_policy_in_days      = 7
  tags                          = local.tags
}

resource "azurerm_role_assignment" "aks_acr_pull" {
  scope                            = azurerm_container_registry.main.id
  role_definition_name             = "AcrPull"
  principal_id                     = azurerm_kubernetes_cluster.aks.kubelet_identity[0].object_id
  skip_service_principal_aad_check = true
}

# The Ray pods' workload identity (ServiceAccount lam-rl in namespace lam-rl): reads and writes the
# trajectory store and checkpoints without keys.
resource "azurerm_user_assigned_identity" "workload" {
  name                = local.names.workload_id
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
}

resource "azurerm_federated_identity_credential" "workload" {
  name                = "lam-rl-ray"
  resource_group_name = azurerm_resource_group.main.name
  parent_id           = azurerm_user_assigned_identity.workload.id
  audience            = ["api://AzureADTokenExchange"]
  issuer              = azurerm_kubernetes_cluster.aks.oidc_issuer_url
  subject             = "system:serviceaccount:${local.k8s_namespace}:${local.k8s_service_account}"
}
