# The bootstrap of the Windows rollout VMs: a PowerShell script (delivered as custom data) and the
# Custom Script Extension command that runs it. Provider-free (tests/vm_bootstrap.tftest.hcl).

terraform {
  required_version = ">= 1.9"
}

variable "key_vault_name" {
  description = "Key Vault that holds the agent token; the VMs' managed identity may read its secrets."
  type        = string
  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$", var.key_vault_name))
    error_message = "key_vault_name must be a Key Vault name (3-24 letters, digits, hyphens)."
  }
}

variable "token_secret_name" {
  description = "Name of the Key Vault secret holding the VM agents' bearer token."
  type        = string
  default     = "vm-agent-token"
  validation {
    condition     = can(regex("^[0-9a-zA-Z-]{1,127}$", var.token_secret_name))
    error_message = "token_secret_name must be 1-127 letters, digits or hyphens."
  }
}

variable "agent_port" {
  description = "TCP port the VM agent listens on."
  type        = number
  default     = 8700
  validation {
    condition     = var.agent_port >= 1024 && var.agent_port <= 65535 && floor(var.agent_port) == var.agent_port
    error_message = "agent_port must be an unprivileged TCP port (1024-65535)."
  }
}

variable "allowed_cidr" {
  description = "The only source range allowed to reach the agent port (the AKS node subnet)."
  type        = string
  validation {
    condition     = can(cidrhost(var.allowed_cidr, 0)) && var.allowed_cidr != "0.0.0.0/0"
    error_message = "allowed_cidr must be an IPv4 CIDR narrower than 0.0.0.0/0: the agent must not be open to everyone."
  }
}

variable "agent_package" {
  description = "pip requirement that installs the agent (the base lam-rl install: protocol and VM side, no torch or Ray)."
  type        = string
  default     = "lam-rl==0.1.0"
  validation {
    condition     = length(trimspace(var.agent_package)) > 0 && !can(regex("[';`$]", var.agent_package))
    error_message = "agent_package must be a pip requirement without quotes, semicolons, backticks or $."
  }
}

variable "agent_args" {
  description = "Arguments of `python -m jobs.cli` (the lam-rl CLI) that start the agent; it gets the token as LAM_VM_TOKEN."
  type        = string
  default     = "env serve --host 0.0.0.0 --port 8700"
  validation {
    condition     = !can(regex("[';`$]", var.agent_args))
    error_message = "agent_args must not contain quotes, semicolons, backticks or $."
  }
}

variable "agent_user" {
  description = "Windows user whose logon session runs the agent (it drives Word's UI, so it needs a desktop session)."
  type        = string
  default     = "lamrl"
  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_.-]{0,19}$", var.agent_user))
    error_message = "agent_user must be a Windows user name of at most 20 characters."
  }
}

variable "python_installer_url" {
  description = "Python installer the VMs download when Python is missing (an https URL)."
  type        = string
  default     = "https://www.python.org/ftp/python/3.11.9/python-3.11.9-amd64.exe"
  validation {
    condition     = startswith(var.python_installer_url, "https://")
    error_message = "python_installer_url must be an https URL."
  }
}

locals {
  script = templatefile("${path.module}/bootstrap.ps1.tftpl", {
    key_vault_name       = var.key_vault_name
    token_secret_name    = var.token_secret_name
    agent_port           = var.agent_port
    allowed_cidr         = var.allowed_cidr
    agent_package        = var.agent_package
    agent_args           = var.agent_args
    agent_user           = var.agent_user
    python_installer_url = var.python_installer_url
  })
  custom_data = base64encode(local.script)
  # Azure places custom data at C:\AzureData\CustomData.bin; the extension runs it as a script
  command = "powershell.exe -NoProfile -ExecutionPolicy Bypass -Command \"Copy-Item C:\\AzureData\\CustomData.bin C:\\AzureData\\lam-rl-bootstrap.ps1 -Force; & C:\\AzureData\\lam-rl-bootstrap.ps1\""
}

output "script" {
  description = "The rendered PowerShell bootstrap."
  value       = local.script
}

output "custom_data" {
  description = "The script, base64-encoded, for the scale set's custom_data."
  value       = local.custom_data

  precondition {
    condition     = length(local.custom_data) <= 65535
    error_message = "the bootstrap is ${length(local.custom_data)} bytes base64-encoded; Azure custom data holds at most 65535."
  }
}

output "command_to_execute" {
  description = "commandToExecute of the Custom Script Extension."
  value       = local.command
}

output "agent_port" {
  description = "The agent port (for the NSG rule and the endpoint list)."
  value       = var.agent_port
}
