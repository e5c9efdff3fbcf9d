<#
.SYNOPSIS
  Install and start the lam-rl VM agent on one Windows VM (run once per VM, as an administrator).

.DESCRIPTION
  The same steps as the Terraform scale set's bootstrap (infra/terraform/modules/vm_bootstrap/
  bootstrap.ps1.tftpl, which Azure runs at first boot), for VMs that Terraform does not create:
  Hyper-V/VMware/other clouds, or a golden image you boot by hand.

    1. the bearer token: from Azure Key Vault with the VM's managed identity (-KeyVaultName), or from
       a file you copied onto the VM (-TokenFile); stored in C:\ProgramData\lam-rl\vm-token, readable
       only by SYSTEM, Administrators and the agent's user;
    2. the agent port, opened in Windows Firewall to one source range only (-AllowedCidr: the
       cluster's node subnet);
    3. Python (if missing) and the agent (pip install lam-rl[windows]: pywinauto, pywin32);
    4. the agent as a scheduled task that starts at the logon of -AgentUser and restarts on failure.

  The agent drives Word's UI through UI Automation, which only works in an interactive desktop
  session: a Windows *service* runs in session 0 and sees no desktop, so the agent is a logon task
  of a user with a desktop session (configure auto-logon for that user in the image; see
  docs/windows.md). At every start the task also sets the user's Word options that would otherwise
  stop an automated session (the Office start screen, first-run prompts) and trusts the folder the
  task documents are opened from. The token reaches the agent as LAM_VM_TOKEN in its own process
  environment only. Log: C:\ProgramData\lam-rl\bootstrap.log.

.EXAMPLE
  .\bootstrap.ps1 -KeyVaultName kv-lamrl-d-weu -AllowedCidr 10.40.0.0/22
.EXAMPLE
  .\bootstrap.ps1 -TokenFile D:\secrets\vm-token -AllowedCidr 192.168.50.0/24 -AgentPackage 'lam-rl[windows]==0.1.0'
#>
[CmdletBinding(DefaultParameterSetName = 'KeyVault')]
param(
  [Parameter(Mandatory = $true, ParameterSetName = 'KeyVault')]
  [ValidatePattern('^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$')]
  [string] $KeyVaultName,

  [Parameter(ParameterSetName = 'KeyVault')]
  [ValidatePattern('^[0-9a-zA-Z-]{1,127}$')]
  [string] $TokenSecretName = 'vm-agent-token',

  [Parameter(Mandatory = $true, ParameterSetName = 'File')]
  [ValidateScript({ Test-Path -LiteralPath $_ -PathType Leaf })]
  [string] $TokenFile,

  [ValidateRange(1024, 65535)]
  [int] $AgentPort = 8700,

  [Parameter(Mandatory = $true)]
  [ValidateScript({ $_ -match '^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$' -and $_ -ne '0.0.0.0/0' })]
  [string] $AllowedCidr,

  [ValidatePattern('^[^'';`$]+$')]
  [string] $AgentPackage = 'lam-rl[windows]==0.1.0',

  [ValidatePattern('^[^'';`$]*$')]
  [string] $AgentArgs = '',

  [ValidatePattern('^[A-Za-z][A-Za-z0-9_.-]{0,19}$')]
  [string] $AgentUser = 'lamrl',

  [ValidatePattern('^https://')]
  [string] $PythonInstallerUrl = 'https://www.python.org/ftp/python/3.11.9/python-3.11.9-amd64.exe'
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$root = 'C:\ProgramData\lam-rl'
$workDir = "$root\documents"
New-Item -ItemType Directory -Force -Path $root, $workDir | Out-Null
Start-Transcript -Path "$root\bootstrap.log" -Append
if (-not $AgentArgs) {
  $AgentArgs = "env serve --agent windows --host 0.0.0.0 --port $AgentPort --work-dir $workDir"
}

# 1. the bearer token (never printed, never in this script)
$tokenPath = "$root\vm-token"
if ($PSCmdlet.ParameterSetName -eq 'KeyVault') {
  $imds = 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net'
  $access = (Invoke-RestMethod -Headers @{ Metadata = 'true' } -Uri $imds).access_token
  $secret = Invoke-RestMethod -Headers @{ Authorization = "Bearer $access" } `
    -Uri "https://$KeyVaultName.vault.azure.net/secrets/$TokenSecretName`?api-version=7.4"
  $token = $secret.value
} else {
  $token = (Get-Content -Raw -LiteralPath $TokenFile).Trim()
}
if ($token.Length -lt 16) { throw 'the VM token is shorter than 16 characters: use a long random token' }
Set-Content -Path $tokenPath -Value $token -NoNewline -Encoding ascii
Remove-Variable token
# only SYSTEM, Administrators and the agent's user may read it
icacls $tokenPath /inheritance:r /grant:r 'SYSTEM:R' 'Administrators:R' "${AgentUser}:R" | Out-Null
icacls $workDir /grant "${AgentUser}:(OI)(CI)M" | Out-Null

# 2. the agent port, reachable from the cluster only
Get-NetFirewallRule -DisplayName 'lam-rl VM agent' -ErrorAction SilentlyContinue | Remove-NetFirewallRule
New-NetFirewallRule -DisplayName 'lam-rl VM agent' -Direction Inbound -Protocol TCP `
  -LocalPort $AgentPort -RemoteAddress $AllowedCidr -Action Allow | Out-Null

# 3. Python and the agent
$python = 'C:\Program Files\Python311\python.exe'
if (-not (Test-Path $python)) {
  $installer = "$env:TEMP\python-installer.exe"
  Invoke-WebRequest -Uri $PythonInstallerUrl -OutFile $installer
  Start-Process -Wait -FilePath $installer -ArgumentList '/quiet', 'InstallAllUsers=1', 'PrependPath=1', 'Include_test=0'
}
& $python -m pip install --upgrade --quiet $AgentPackage
if ($LASTEXITCODE -ne 0) { throw "pip install $AgentPackage failed" }
& $python -c 'import lam_rl.env.windows.agent'
if ($LASTEXITCODE -ne 0) { throw 'the lam-rl agent does not import: see the pip output above' }

# 4. the agent as a logon task of the desktop user, restarted when it stops
$runner = "$root\run-agent.ps1"
Set-Content -Path $runner -Encoding ascii -Value @"
# written by bootstrap.ps1: runs at the logon of $AgentUser, in that user's desktop session
`$word = 'HKCU:\Software\Microsoft\Office\16.0'
`$policy = 'HKCU:\Software\Policies\Microsoft\Office\16.0'
New-Item -Force -Path "`$word\Common\General", "`$policy\Common\General" | Out-Null
Set-ItemProperty -Path "`$word\Common\General" -Name ShownFirstRunOptin -Value 1 -Type DWord
Set-ItemProperty -Path "`$policy\Common\General" -Name DisableBootToOfficeStart -Value 1 -Type DWord
`$trusted = "`$policy\Word\Security\Trusted Locations\LamRl"
New-Item -Force -Path `$trusted | Out-Null
Set-ItemProperty -Path `$trusted -Name Path -Value '$workDir\'
Set-ItemProperty -Path `$trusted -Name AllowSubfolders -Value 1 -Type DWord
`$env:LAM_VM_TOKEN = (Get-Content -Raw '$tokenPath').Trim()
& '$python' -m jobs.cli $AgentArgs
"@
$action = New-ScheduledTaskAction -Execute 'powershell.exe' `
  -Argument "-NoProfile -ExecutionPolicy Bypass -WindowStyle Hidden -File $runner" -WorkingDirectory $root
$trigger = New-ScheduledTaskTrigger -AtLogOn -User $AgentUser
$settings = New-ScheduledTaskSettingsSet -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -ExecutionTimeLimit 0
Register-ScheduledTask -TaskName 'lam-rl-agent' -Action $action -Trigger $trigger -Settings $settings `
  -User $AgentUser -RunLevel Limited -Force | Out-Null
Start-ScheduledTask -TaskName 'lam-rl-agent'
Write-Output "lam-rl agent registered: port $AgentPort, open to $AllowedCidr, runs at the logon of $AgentUser"
Stop-Transcript
