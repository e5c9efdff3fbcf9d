<#
.SYNOPSIS
  Prepare a Windows golden image for lam-rl rollout VMs (run once while building the image, as an
  administrator, on a machine with Microsoft Word installed and activated).

.DESCRIPTION
  Everything that does not depend on the VM or its token, so that VMs start quickly and
  bootstrap.ps1 (or the Terraform scale set's bootstrap) only has to fetch the token, open the port
  and register the agent:

    1. checks that Word is installed (its COM class Word.Application is registered);
    2. installs Python 3.11 for all users and the agent (pip install lam-rl[windows]);
    3. creates the local user that runs the agent (-AgentUser), if it does not exist;
    4. keeps the desktop usable by UI Automation: no screen saver lock, no display sleep, no lock
       screen (a locked or sleeping session has no UI to automate).

  Still to do by hand in the image, because they need secrets or a licence (docs/windows.md):
  sign in to Office / activate it for that user, and configure auto-logon for the user (for
  example with Sysinternals Autologon, which stores the password encrypted by LSA). Then
  generalize the image (sysprep) as usual for your cloud.

.EXAMPLE
  .\prepare-image.ps1 -AgentUserPassword (Read-Host -AsSecureString 'password for lamrl')
#>
[CmdletBinding()]
param(
  [ValidatePattern('^[A-Za-z][A-Za-z0-9_.-]{0,19}$')]
  [string] $AgentUser = 'lamrl',

  [securestring] $AgentUserPassword,

  [ValidatePattern('^[^'';`$]+$')]
  [string] $AgentPackage = 'lam-rl[windows]==0.1.0',

  [ValidatePattern('^https://')]
  [string] $PythonInstallerUrl = 'https://www.python.org/ftp/python/3.11.9/python-3.11.9-amd64.exe'
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

# 1. Word must be there: the agent drives it through UI Automation and COM
if (-not (Test-Path 'Registry::HKEY_CLASSES_ROOT\Word.Application\CLSID')) {
  throw 'Microsoft Word is not installed (no Word.Application COM class): install Microsoft 365 Apps / Office first'
}

# 2. Python and the agent
$python = 'C:\Program Files\Python311\python.exe'
if (-not (Test-Path $python)) {
  $installer = "$env:TEMP\python-installer.exe"
  Invoke-WebRequest -Uri $PythonInstallerUrl -OutFile $installer
  Start-Process -Wait -FilePath $installer -ArgumentList '/quiet', 'InstallAllUsers=1', 'PrependPath=1', 'Include_test=0'
}
& $python -m pip install --upgrade --quiet $AgentPackage
if ($LASTEXITCODE -ne 0) { throw "pip install $AgentPackage failed" }
& $python -c 'import pywinauto, win32com.client, lam_rl.env.windows.agent'
if ($LASTEXITCODE -ne 0) { throw 'pywinauto/pywin32 or the lam-rl agent do not import' }

# 3. the agent's user (a standard user: the agent needs a desktop, not administrator rights)
if (-not (Get-LocalUser -Name $AgentUser -ErrorAction SilentlyContinue)) {
  if (-not $AgentUserPassword) { throw "user $AgentUser does not exist: pass -AgentUserPassword to create it" }
  New-LocalUser -Name $AgentUser -Password $AgentUserPassword -PasswordNeverExpires `
    -Description 'runs the lam-rl VM agent' | Out-Null
  Add-LocalGroupMember -Group 'Users' -Member $AgentUser
}

# 4. a session that stays usable: no display sleep, no lock screen, no screen saver
powercfg /change monitor-timeout-ac 0
powercfg /change standby-timeout-ac 0
New-Item -Force -Path 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\Personalization' | Out-Null
Set-ItemProperty -Path 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\Personalization' -Name NoLockScreen -Value 1 -Type DWord
New-Item -Force -Path 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\Control Panel\Desktop' | Out-Null
Set-ItemProperty -Path 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\Control Panel\Desktop' -Name ScreenSaveActive -Value '0'
Write-Output "image prepared: Python, $AgentPackage and user $AgentUser; now activate Office and set auto-logon for $AgentUser"
