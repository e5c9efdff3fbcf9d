# Names of every Azure resource of one lam-rl deployment, from project, environment and region.
# Provider-free: `terraform test` checks it offline (tests/naming.tftest.hcl).

terraform {
  required_version = ">= 1.9"
}

variable "project" {
  description = "Short project name: 2-8 lower-case letters or digits, starting with a letter (e.g. lamrl)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,7}$", var.project))
    error_message = "project must be 2-8 lower-case letters or digits and start with a letter (it goes into storage account and registry names)."
  }
}

variable "environment" {
  description = "Environment: dev, test, staging or prod."
  type        = string
  validation {
    condition     = contains(["dev", "test", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, test, staging, prod."
  }
}

variable "location" {
  description = "Azure region (e.g. westeurope); it must be one of the regions this module has a short code for."
  type        = string
  validation {
    condition = contains([
      "westeurope", "northeurope", "swedencentral", "francecentral", "germanywestcentral", "uksouth",
      "eastus", "eastus2", "westus2", "westus3", "centralus", "southcentralus", "canadacentral",
      "japaneast", "australiaeast", "southeastasia", "koreacentral", "centralindia",
    ], var.location)
    error_message = "location must be an Azure region name such as westeurope or eastus2 (see the list in modules/naming/main.tf)."
  }
}

variable "suffix" {
  description = "Optional 0-4 lower-case letters or digits appended to globally unique names (storage, key vault, registry) when the plain name is taken."
  type        = string
  default     = ""
  validation {
    condition     = can(regex("^[a-z0-9]{0,4}$", var.suffix))
    error_message = "suffix must be at most 4 lower-case letters or digits."
  }
}

variable "extra_tags" {
  description = "Tags added to the standard ones on every resource."
  type        = map(string)
  default     = {}
}

locals {
  region_codes = {
    westeurope         = "weu", northeurope = "neu", swedencentral = "sdc", francecentral = "frc",
    germanywestcentral = "gwc", uksouth = "uks", eastus = "eus", eastus2 = "eus2", westus2 = "wus2",
    westus3            = "wus3", centralus = "cus", southcentralus = "scus", canadacentral = "cac",
    japaneast          = "jpe", australiaeast = "aue", southeastasia = "sea", koreacentral = "krc",
    centralindia       = "inc",
  }
  region = local.region_codes[var.location]
  # "<kind>-<project>-<env>-<region>" for names with hyphens; the globally unique names, which Azure
  # keeps short (storage accounts and key vaults: 24 characters), use a one-letter environment code.
  env_code = { dev = "d", test = "t", staging = "s", prod = "p" }[var.environment]
  stem     = "${var.project}-${var.environment}-${local.region}"
  compact  = "${var.project}${local.env_code}${local.region}${var.suffix}"
  names = {
    resource_group   = "rg-${local.stem}"
    virtual_network  = "vnet-${local.stem}"
    nat_gateway      = "ng-${local.stem}"
    nat_public_ip    = "pip-ng-${local.stem}"
    nsg_aks          = "nsg-aks-${local.stem}"
    nsg_vms          = "nsg-vms-${local.stem}"
    nsg_endpoints    = "nsg-pe-${local.stem}"
    aks              = "aks-${local.stem}"
    aks_dns_prefix   = "${var.project}-${var.environment}"
    aks_node_rg      = "rg-${local.stem}-nodes"
    log_analytics    = "log-${local.stem}"
    workload_id      = "id-workload-${local.stem}"
    vmss             = "vmss-${local.stem}"
    vm_computer_name = substr("${var.project}${substr(var.environment, 0, 1)}", 0, 9)
    storage_account  = "st${local.compact}"
    key_vault        = "kv-${var.project}-${local.env_code}-${local.region}${var.suffix == "" ? "" : "-${var.suffix}"}"
    container_reg    = "cr${local.compact}"
  }
  tags = merge({
    project     = var.project
    environment = var.environment
    managed-by  = "terraform"
    application = "lam-rl"
  }, var.extra_tags)
}

output "names" {
  description = "Resource names by role."
  value       = local.names

  precondition {
    condition     = can(regex("^[a-z0-9]{3,24}$", local.names.storage_account))
    error_message = "storage account name ${local.names.storage_account} must be 3-24 lower-case letters or digits: shorten project or suffix."
  }
  precondition {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$", local.names.key_vault)) && !strcontains(local.names.key_vault, "--")
    error_message = "key vault name ${local.names.key_vault} must be 3-24 letters, digits or single hyphens: shorten project or suffix."
  }
  precondition {
    condition     = can(regex("^[a-z0-9]{5,50}$", local.names.container_reg))
    error_message = "container registry name ${local.names.container_reg} must be 5-50 lower-case letters or digits."
  }
}

output "tags" {
  description = "Tags for every resource."
  value       = local.tags
}

output "region_code" {
  description = "The short code of the region used in names."
  value       = local.region
}
