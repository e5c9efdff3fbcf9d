variable "subscription_id" {
  description = "Azure subscription to deploy into."
  type        = string
  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$", var.subscription_id))
    error_message = "subscription_id must be a subscription GUID."
  }
}

variable "project" {
  description = "Short project name used in resource names (2-8 lower-case letters or digits)."
  type        = string
  default     = "lamrl"
}

variable "environment" {
  description = "dev, test, staging or prod."
  type        = string
  default     = "dev"
}

variable "location" {
  description = "Azure region (one with the GPU size you choose; e.g. westeurope, eastus2)."
  type        = string
  default     = "westeurope"
}

variable "name_suffix" {
  description = "0-4 characters appended to globally unique names if the plain ones are taken."
  type        = string
  default     = ""
}

variable "address_space" {
  description = "CIDR of the virtual network."
  type        = string
  default     = "10.40.0.0/16"
}

variable "admin_ip_ranges" {
  description = "CIDRs allowed to reach the Kubernetes API and the Key Vault (the operators' and CI's egress addresses)."
  type        = list(string)
  validation {
    condition     = length(var.admin_ip_ranges) > 0 && alltrue([for c in var.admin_ip_ranges : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "admin_ip_ranges must list at least one IPv4 CIDR, none of them 0.0.0.0/0."
  }
}

variable "admin_group_object_ids" {
  description = "Entra ID groups whose members are cluster admins (Azure RBAC for Kubernetes)."
  type        = list(string)
  default     = []
}

variable "kubernetes_version" {
  description = "AKS Kubernetes minor version; manifests are validated against it (lam_rl/deploy/manifests.py)."
  type        = string
  default     = "1.33"
  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must be a minor version such as 1.33."
  }
}

variable "system_pool" {
  description = "System node pool shape."
  type        = object({ vm_size = string, count = number })
  default     = { vm_size = "Standard_D4ds_v5", count = 2 }
}

variable "cpu_pool" {
  description = "CPU node pool (Ray heads, rollout workers)."
  type        = object({ vm_size = string, min_count = number, max_count = number })
  default     = { vm_size = "Standard_D16ds_v5", min_count = 1, max_count = 10 }
}

variable "gpu_pool" {
  description = "GPU node pool (learners, policy and reward servers), tainted nvidia.com/gpu."
  type        = object({ vm_size = string, min_count = number, max_count = number })
  default     = { vm_size = "Standard_NC24ads_A100_v4", min_count = 0, max_count = 4 }
}

variable "vm_count" {
  description = "Windows rollout VMs in the scale set (one RolloutWorker each)."
  type        = number
  default     = 4
  validation {
    condition     = var.vm_count >= 0 && var.vm_count <= 250 && floor(var.vm_count) == var.vm_count
    error_message = "vm_count must be a whole number between 0 and 250."
  }
}

variable "vm_size" {
  description = "Size of each Windows VM."
  type        = string
  default     = "Standard_D4s_v5"
}

variable "vm_image" {
  description = "Marketplace image of the Windows VMs: Windows 11 with Microsoft 365 apps (Word) by default; bring your Office licence."
  type        = object({ publisher = string, offer = string, sku = string, version = string })
  default = {
    publisher = "MicrosoftWindowsDesktop"
    offer     = "office-365"
    sku       = "win11-24h2-avd-m365"
    version   = "latest"
  }
}

variable "vm_agent_port" {
  description = "Port of the lam-rl VM agent on every VM."
  type        = number
  default     = 8700
}

variable "vm_agent_args" {
  description = "Arguments of the lam-rl CLI that start the agent on each VM (null: `env serve --host 0.0.0.0 --port <vm_agent_port>`, the WordSim agent, to test the fleet end to end; set the Windows UI Automation agent's command for real Word)."
  type        = string
  default     = null
}

variable "vm_agent_package" {
  description = "pip requirement the VMs install for the agent."
  type        = string
  default     = "lam-rl==0.1.0"
}

variable "kuberay_version" {
  description = "KubeRay operator Helm chart version (the CRDs in infra/k8s/crds are v1.7.0)."
  type        = string
  default     = "1.7.0"
}

variable "image_tag" {
  description = "Tag of the lam-rl image in the registry (infra/docker/Dockerfile)."
  type        = string
  default     = "0.1.0"
  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag must be a Docker tag other than latest."
  }
}

variable "wandb_api_key" {
  description = "Weights & Biases API key stored as the lam-rl-wandb Secret (empty: create the Secret yourself, or track offline)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "runs_storage_class" {
  description = "StorageClass of the shared ReadWriteMany runs volume (AKS built-in Azure Files classes work)."
  type        = string
  default     = "azurefile-csi-premium"
}

variable "runs_volume_size" {
  description = "Size of the shared runs volume."
  type        = string
  default     = "1Ti"
}

variable "extra_tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
