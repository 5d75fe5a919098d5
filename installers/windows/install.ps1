<#
.SYNOPSIS
    Install the homediag agent on Windows as a service.

.DESCRIPTION
    - the agent in its own virtual environment, %ProgramFiles%\homediag\venv (Administrators only
      may write there);
    - configuration %ProgramData%\homediag\agent.toml (kept when it exists);
    - state %ProgramData%\homediag\state: identity key, enrollment, outbox; readable and writable
      by SYSTEM, Administrators and the service's account only;
    - the service "homediag-agent", run by WinSW (a maintained service wrapper, MIT licensed) as
      NT AUTHORITY\LocalService, a built-in account without administrator rights;
    - with -Cloud and -Code, enrollment.

    installers/README.md says why WinSW, and what each file is.

.EXAMPLE
    .\install.ps1 -Cloud https://care.example.net -Code 7KQ2-M9XD -WinSW .\WinSW-x64.exe

.EXAMPLE
    .\install.ps1 -Upgrade -Source .\homediag-0.1.1-py3-none-any.whl -WinSW .\WinSW-x64.exe
#>
#Requires -Version 5.1
#Requires -RunAsAdministrator
[CmdletBinding()]
param(
    # A wheel, an sdist or a source tree of homediag; by default `homediag` from the package index.
    [string] $Source = 'homediag',
    # Look for wheels in this folder as well (pip's --find-links).
    [string] $FindLinks = '',
    # Do not use a package index (offline, with -FindLinks).
    [switch] $NoIndex,
    # Python >= 3.11; by default the newest the py launcher knows.
    [string] $Python = '',
    # The cloud to enroll with, and the one-time pairing code (both or neither).
    [string] $Cloud = '',
    [string] $Code = '',
    # Replace the installed agent; configuration, identity and outbox are kept.
    [switch] $Upgrade,
    # WinSW 2.x executable (WinSW-x64.exe from its GitHub release); downloaded when not given.
    [string] $WinSW = '',
    # The SHA-256 the downloaded WinSW must have (from the release you trust); required to download.
    [string] $WinSWSha256 = ''
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$ServiceName = 'homediag-agent'
$Prefix = Join-Path $env:ProgramFiles 'homediag'
$Venv = Join-Path $Prefix 'venv'
$DataDir = Join-Path $env:ProgramData 'homediag'
$StateDir = Join-Path $DataDir 'state'
$LogDir = Join-Path $DataDir 'logs'
$Config = Join-Path $DataDir 'agent.toml'
$Wrapper = Join-Path $Prefix 'homediag-agent-service.exe'
$WinSWUrl = 'https://github.com/winsw/winsw/releases/download/v2.12.0/WinSW-x64.exe'
# The service's account (NT AUTHORITY\LocalService, set in the WinSW XML) by its well-known SID,
# so the ACLs hold whatever the display language.
$ServiceSid = '*S-1-5-19'

function Say([string] $Message) { Write-Host "homediag: $Message" }

function Invoke-Checked([string] $File, [string[]] $Arguments) {
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Find-Python {
    if ($Python) { return $Python }
    $launcher = Get-Command py.exe -ErrorAction SilentlyContinue
    if ($launcher) {
        foreach ($version in @('3.13', '3.12', '3.11')) {
            # Windows PowerShell 5.1 turns a native command's stderr into an error under 'Stop'.
            try {
                $path = & $launcher.Source "-$version" -c 'import sys; print(sys.executable)' 2>$null
            } catch {
                continue
            }
            if ($LASTEXITCODE -eq 0 -and $path) { return $path.Trim() }
        }
    }
    throw 'no Python >= 3.11 found; install it for all users from python.org, or give -Python'
}

function Set-PrivateAcl([string] $Path) {
    # Only SYSTEM, Administrators and the service; inherited by what the agent creates.
    Invoke-Checked icacls.exe @($Path, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F',
        '*S-1-5-32-544:(OI)(CI)F', "${ServiceSid}:(OI)(CI)M", '/T', '/Q')
}

if (($Cloud -and -not $Code) -or ($Code -and -not $Cloud)) { throw '-Cloud and -Code go together' }
if ((Test-Path $Venv) -and -not $Upgrade) { throw "already installed in $Prefix; use -Upgrade" }
if ($Upgrade -and -not (Test-Path $Venv)) { throw "nothing to upgrade in $Prefix; install first" }
if ($Code -and (Test-Path (Join-Path $StateDir 'enrollment.json'))) {
    throw "$StateDir already holds an enrollment; uninstall (without -KeepIdentity) to enroll anew"
}

$PythonExe = Find-Python
Invoke-Checked $PythonExe @('-c', 'import sys; sys.exit(sys.version_info < (3, 11))')

# --- the service wrapper -------------------------------------------------------------------------
New-Item -ItemType Directory -Force -Path $Prefix, $DataDir, $StateDir, $LogDir | Out-Null
if (-not (Test-Path $Wrapper) -or $WinSW) {
    if ($WinSW) {
        Copy-Item -Force $WinSW $Wrapper
    } else {
        if (-not $WinSWSha256) {
            throw "give -WinSW PATH, or -WinSWSha256 with the hash of $WinSWUrl to download it"
        }
        Say "downloading $WinSWUrl"
        Invoke-WebRequest -UseBasicParsing -Uri $WinSWUrl -OutFile $Wrapper
    }
    if ($WinSWSha256) {
        $actual = (Get-FileHash -Algorithm SHA256 $Wrapper).Hash
        if ($actual -ne $WinSWSha256.ToUpperInvariant()) {
            Remove-Item -Force $Wrapper
            throw "WinSW has SHA-256 $actual, not $WinSWSha256"
        }
    }
}
Copy-Item -Force (Join-Path $PSScriptRoot 'homediag-agent-service.xml') (Join-Path $Prefix 'homediag-agent-service.xml')

# --- the virtual environment ---------------------------------------------------------------------
$pipArgs = @('-I', '-m', 'pip', 'install', '--no-cache-dir', '--disable-pip-version-check', '--quiet')
if ($NoIndex) { $pipArgs += '--no-index' }
if ($FindLinks) { $pipArgs += @('--find-links', (Resolve-Path $FindLinks).Path) }
$spec = if (Test-Path $Source) { (Resolve-Path $Source).Path } else { $Source }
$service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if ($service -and $service.Status -ne 'Stopped') {
    Say "stopping $ServiceName"
    Stop-Service -Name $ServiceName
}
# pip's .exe launchers on Windows hold the venv's absolute path, so the venv is made in its final
# place (not beside it and swapped, as on Linux). A failed upgrade leaves configuration and
# identity untouched: running this again finishes it.
if (Test-Path $Venv) { Remove-Item -Recurse -Force $Venv }
Say "creating the virtual environment ($(& $PythonExe -V))"
Invoke-Checked $PythonExe @('-m', 'venv', $Venv)
Say "installing $spec[agent]"
Invoke-Checked (Join-Path $Venv 'Scripts\python.exe') ($pipArgs + @("$spec[agent]"))

# --- configuration and state ---------------------------------------------------------------------
if (-not (Test-Path $Config)) {
    $template = Get-Content -Raw (Join-Path $PSScriptRoot '..\linux\agent.toml')
    $stateToml = $StateDir.Replace('\', '/')
    $template = $template -replace '(?m)^state_dir = .*$', "state_dir = `"$stateToml`""
    Set-Content -Path $Config -Value $template -Encoding UTF8
}
Set-PrivateAcl $StateDir
Set-PrivateAcl $LogDir

if ($Code) {
    Say "enrolling with $Cloud"
    Invoke-Checked (Join-Path $Venv 'Scripts\homediag-agent.exe') @('--config', $Config, 'enroll', '--cloud', $Cloud, '--code', $Code)
    # Files made by this (administrator's) process inherit the private ACL; the service's account
    # must own nothing more than Modify.
    Set-PrivateAcl $StateDir
}

# --- the service ---------------------------------------------------------------------------------
if (-not (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue)) {
    Invoke-Checked $Wrapper @('install')
}
# The account is in the XML (NT AUTHORITY\LocalService); of its privileges the agent needs none
# but traversing folders.
Invoke-Checked sc.exe @('privs', $ServiceName, 'SeChangeNotifyPrivilege')
if (Test-Path (Join-Path $StateDir 'enrollment.json')) {
    Start-Service -Name $ServiceName
    Say "started $ServiceName (logs in $LogDir; homediag-agent status)"
} else {
    Say "not enrolled yet: homediag-agent --config `"$Config`" enroll --cloud URL --code CODE, then Start-Service $ServiceName"
}
Say "installed: $Venv, $Config, $StateDir, service $ServiceName"
