# Address plan of one deployment: subnets carved from the virtual network, the AKS overlay pod and
# service ranges, and the checks that none of them overlap. Provider-free (tests/network.tftest.hcl).

terraform {
  required_version = ">= 1.9"
}

variable "address_space" {
  description = "CIDR of the virtual network, /8 to /22 (e.g. 10.40.0.0/16)."
  type        = string
  validation {
    condition     = can(cidrhost(var.address_space, 0)) && tonumber(split("/", var.address_space)[1]) >= 8 && tonumber(split("/", var.address_space)[1]) <= 22
    error_message = "address_space must be an IPv4 CIDR with a prefix between /8 and /22."
  }
  validation {
    condition     = can(cidrhost(var.address_space, 0)) && cidrhost(var.address_space, 0) == split("/", var.address_space)[0]
    error_message = "address_space must be a network address (host bits zero), e.g. 10.40.0.0/16 rather than 10.40.1.0/16."
  }
}

variable "subnet_prefixes" {
  description = "Prefix length of each subnet: aks_nodes (one IP per node with overlay networking), vms (one per Windows VM), endpoints (private endpoints)."
  type = object({
    aks_nodes = number
    vms       = number
    endpoints = number
  })
  default = { aks_nodes = 22, vms = 24, endpoints = 27 }
  validation {
    condition     = alltrue([for p in values(var.subnet_prefixes) : p >= 16 && p <= 29])
    error_message = "every subnet prefix must be between /16 and /29 (Azure's smallest subnet is /29)."
  }
}

variable "pod_cidr" {
  description = "AKS overlay pod CIDR; it must not overlap the virtual network or the service CIDR."
  type        = string
  default     = "192.168.0.0/16"
  validation {
    condition     = can(cidrhost(var.pod_cidr, 0))
    error_message = "pod_cidr must be an IPv4 CIDR."
  }
}

variable "service_cidr" {
  description = "Kubernetes service CIDR; it must not overlap the virtual network or the pod CIDR."
  type        = string
  default     = "172.16.0.0/16"
  validation {
    condition     = can(cidrhost(var.service_cidr, 0))
    error_message = "service_cidr must be an IPv4 CIDR."
  }
}

locals {
  vnet_prefix = tonumber(split("/", var.address_space)[1])
  # subnets are allocated in order (largest first keeps them aligned)
  order   = ["aks_nodes", "vms", "endpoints"]
  newbits = [for k in local.order : var.subnet_prefixes[k] - local.vnet_prefix]
  fits    = alltrue([for n in local.newbits : n > 0]) && sum([for k in local.order : pow(2, 32 - var.subnet_prefixes[k])]) <= pow(2, 32 - local.vnet_prefix)
  cidrs   = local.fits ? cidrsubnets(var.address_space, local.newbits...) : ["", "", ""]
  subnets = zipmap(local.order, local.cidrs)

  # [first, last] address of a CIDR as numbers, for overlap checks
  ranges = {
    for name, cidr in merge({ vnet = var.address_space, pods = var.pod_cidr, services = var.service_cidr }) : name => [
      sum([for i, o in split(".", cidrhost(cidr, 0)) : tonumber(o) * pow(256, 3 - i)]),
      sum([for i, o in split(".", cidrhost(cidr, 0)) : tonumber(o) * pow(256, 3 - i)]) + pow(2, 32 - tonumber(split("/", cidr)[1])) - 1,
    ]
  }
  pairs    = [["vnet", "pods"], ["vnet", "services"], ["pods", "services"]]
  overlaps = [for p in local.pairs : "${p[0]}/${p[1]}" if local.ranges[p[0]][0] <= local.ranges[p[1]][1] && local.ranges[p[1]][0] <= local.ranges[p[0]][1]]
  # Azure keeps 5 addresses of every subnet
  usable = { for k in local.order : k => pow(2, 32 - var.subnet_prefixes[k]) - 5 }
}

output "subnets" {
  description = "CIDR of each subnet: aks_nodes, vms, endpoints."
  value       = local.subnets

  precondition {
    condition     = local.fits
    error_message = "the subnets (/${var.subnet_prefixes.aks_nodes}, /${var.subnet_prefixes.vms}, /${var.subnet_prefixes.endpoints}) do not fit in ${var.address_space}: use a larger address_space or longer subnet prefixes."
  }
  precondition {
    condition     = length(local.overlaps) == 0
    error_message = "address ranges overlap: ${join(", ", local.overlaps)}; pick pod_cidr and service_cidr outside the virtual network and apart from each other."
  }
}

output "usable_addresses" {
  description = "Usable addresses of each subnet (Azure keeps 5): the most nodes or VMs it can hold."
  value       = local.usable
}

output "pod_cidr" {
  description = "AKS overlay pod CIDR."
  value       = var.pod_cidr
}

output "service_cidr" {
  description = "Kubernetes service CIDR."
  value       = var.service_cidr
}

output "dns_service_ip" {
  description = "The cluster DNS service address: the tenth address of the service CIDR."
  value       = cidrhost(var.service_cidr, 10)
}
