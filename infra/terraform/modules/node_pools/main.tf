# Shapes of the AKS node pools: a system pool for cluster add-ons, a CPU pool for the Ray heads and
# rollout workers, and a tainted GPU pool for learners and the policy/reward servers. Provider-free:
# the root module turns these shapes into resources; tests/node_pools.tftest.hcl checks them offline.
# The node label lam-rl.io/pool and the GPU taint are the ones `lam-rl infra render` selects and
# tolerates (lam_rl/deploy/pods.py).

terraform {
  required_version = ">= 1.9"
}

variable "system" {
  description = "System pool: VM size and node count (it runs only cluster add-ons)."
  type = object({
    vm_size = string
    count   = number
  })
  default = { vm_size = "Standard_D4ds_v5", count = 2 }
  validation {
    condition     = var.system.count >= 1 && var.system.count <= 10
    error_message = "system.count must be between 1 and 10 (2 or more for a highly available control plane add-ons)."
  }
}

variable "cpu" {
  description = "CPU pool (Ray heads, rollout workers): VM size and autoscaling bounds."
  type = object({
    vm_size   = string
    min_count = number
    max_count = number
  })
  default = { vm_size = "Standard_D16ds_v5", min_count = 1, max_count = 10 }
  validation {
    condition     = var.cpu.min_count >= 0 && var.cpu.min_count <= var.cpu.max_count && var.cpu.max_count <= 1000
    error_message = "cpu pool needs 0 <= min_count <= max_count <= 1000."
  }
}

variable "gpu" {
  description = "GPU pool (learners, policy and reward servers): an N-series VM size and autoscaling bounds; min_count 0 lets it scale to zero."
  type = object({
    vm_size   = string
    min_count = number
    max_count = number
  })
  default = { vm_size = "Standard_NC24ads_A100_v4", min_count = 0, max_count = 4 }
  validation {
    condition     = var.gpu.min_count >= 0 && var.gpu.min_count <= var.gpu.max_count && var.gpu.max_count <= 1000
    error_message = "gpu pool needs 0 <= min_count <= max_count <= 1000."
  }
  validation {
    condition     = can(regex("^Standard_N", var.gpu.vm_size))
    error_message = "gpu.vm_size must be a GPU (N-series) size such as Standard_NC24ads_A100_v4."
  }
}

variable "zones" {
  description = "Availability zones for every pool (empty: no zone pinning)."
  type        = list(string)
  default     = ["1", "2", "3"]
  validation {
    condition     = alltrue([for z in var.zones : contains(["1", "2", "3"], z)])
    error_message = "zones must be a subset of [\"1\", \"2\", \"3\"]."
  }
}

variable "max_pods" {
  description = "Pods per node (overlay networking: pods do not use subnet addresses)."
  type        = number
  default     = 110
  validation {
    condition     = var.max_pods >= 30 && var.max_pods <= 250
    error_message = "max_pods must be between 30 and 250."
  }
}

locals {
  pool_label = "lam-rl.io/pool"
  gpu_taint  = "nvidia.com/gpu=present:NoSchedule"
  pools = {
    system = {
      mode                 = "System"
      vm_size              = var.system.vm_size
      auto_scaling_enabled = false
      node_count           = var.system.count
      min_count            = null
      max_count            = null
      node_labels          = { (local.pool_label) = "system" }
      node_taints          = ["CriticalAddonsOnly=true:NoSchedule"]
      os_disk_size_gb      = 128
    }
    cpu = {
      mode                 = "User"
      vm_size              = var.cpu.vm_size
      auto_scaling_enabled = true
      node_count           = null
      min_count            = var.cpu.min_count
      max_count            = var.cpu.max_count
      node_labels          = { (local.pool_label) = "cpu" }
      node_taints          = []
      os_disk_size_gb      = 256
    }
    gpu = {
      mode                 = "User"
      vm_size              = var.gpu.vm_size
      auto_scaling_enabled = true
      node_count           = null
      min_count            = var.gpu.min_count
      max_count            = var.gpu.max_count
      node_labels          = { (local.pool_label) = "gpu", "nvidia.com/gpu.present" = "true" }
      node_taints          = [local.gpu_taint]
      os_disk_size_gb      = 512
    }
  }
}

output "pools" {
  description = "Pool name -> shape (mode, vm_size, autoscaling, counts, labels, taints, disk size)."
  value       = local.pools
}

output "user_pools" {
  description = "The pools other than the system pool (azurerm_kubernetes_cluster_node_pool resources)."
  value       = { for k, v in local.pools : k => v if v.mode == "User" }
}

output "zones" {
  description = "Availability zones of every pool."
  value       = var.zones
}

output "max_pods" {
  description = "Pods per node."
  value       = var.max_pods
}

output "max_nodes" {
  description = "The most nodes all pools together can reach (each needs one node-subnet address)."
  value       = var.system.count + var.cpu.max_count + var.gpu.max_count
}

output "pool_label" {
  description = "The node label that names a node's pool."
  value       = local.pool_label
}

output "gpu_taint" {
  description = "The taint on GPU nodes that GPU pods tolerate."
  value       = local.gpu_taint
}
