# The VM agents' URLs and the rollout config override that lists them (fleet.vms=[...]), from the VMs'
# private addresses. Provider-free (tests/vm_endpoints.tftest.hcl); tests/infra checks that
# `lam-rl infra render` accepts the override.

terraform {
  required_version = ">= 1.9"
}

variable "ips" {
  description = "Private IPv4 addresses of the VMs."
  type        = list(string)
  validation {
    condition     = alltrue([for ip in var.ips : can(cidrhost("${ip}/32", 0))])
    error_message = "ips must be IPv4 addresses."
  }
}

variable "port" {
  description = "The agent port."
  type        = number
  validation {
    condition     = var.port >= 1 && var.port <= 65535
    error_message = "port must be a TCP port."
  }
}

locals {
  urls = [for ip in sort(var.ips) : "http://${ip}:${var.port}"]
}

output "urls" {
  description = "Agent URL of every VM, sorted."
  value       = local.urls
}

output "fleet_override" {
  description = "The rollout config override listing the VMs (one argument for lam-rl infra render)."
  value       = "fleet.vms=[${join(",", [for u in local.urls : "'${u}'"])}]"
}
