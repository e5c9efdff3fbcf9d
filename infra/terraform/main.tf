# lam-rl on Azure: a resource group and network, an AKS cluster (system, CPU and tainted GPU pools),
# Windows rollout VMs on a private subnet, storage for trajectories and checkpoints, a Key Vault for
# the VM agents' token, a container registry, and the KubeRay operator plus the lam-rl platform chart.
# The logic that needs no cloud lives in provider-free modules under modules/ with `terraform test`
# files; `lam-rl infra validate` runs them offline.

data "azurerm_client_config" "current" {}

module "naming" {
  source      = "./modules/naming"
  project     = var.project
  environment = var.environment
  location    = var.location
  suffix      = var.name_suffix
  extra_tags  = var.extra_tags
}

module "network" {
  source        = "./modules/network"
  address_space = var.address_space
}

module "node_pools" {
  source = "./modules/node_pools"
  system = var.system_pool
  cpu    = var.cpu_pool
  gpu    = var.gpu_pool
}

module "vm_bootstrap" {
  source         = "./modules/vm_bootstrap"
  key_vault_name = local.names.key_vault
  agent_port     = var.vm_agent_port
  agent_args     = coalesce(var.vm_agent_args, "env serve --host 0.0.0.0 --port ${var.vm_agent_port}")
  allowed_cidr   = module.network.subnets.aks_nodes
  agent_package  = var.vm_agent_package
}

locals {
  names = module.naming.names
  tags  = module.naming.tags
}

resource "azurerm_resource_group" "main" {
  name     = local.names.resource_group
  location = var.location
  tags     = local.tags

  lifecycle {
    precondition {
      condition     = module.node_pools.max_nodes <= module.network.usable_addresses.aks_nodes
      error_message = "the node pools can reach ${module.node_pools.max_nodes} nodes but the node subnet has ${module.network.usable_addresses.aks_nodes} addresses: enlarge subnet_prefixes.aks_nodes or lower max_count."
    }
    precondition {
      condition     = var.vm_count <= module.network.usable_addresses.vms
      error_message = "vm_count (${var.vm_count}) exceeds the VM subnet's ${module.network.usable_addresses.vms} addresses."
    }
  }
}

resource "azurerm_log_analytics_workspace" "main" {
  name                = local.names.log_analytics
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  sku                 = "PerGB2018"
  retention_in_days   = 30
  tags                = local.tags
}
