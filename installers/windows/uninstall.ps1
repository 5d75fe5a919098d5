<#
.SYNOPSIS
    Remove the homediag agent that install.ps1 put on this PC.

.DESCRIPTION
    Stops and deletes the service "homediag-agent", removes %ProgramFiles%\homediag (venv and
    WinSW) and %ProgramData%\homediag (configuration, logs and state). With -KeepIdentity the
    state folder (identity key, enrollment, outbox) stays, readable by SYSTEM and Administrators
    only, so a later install.ps1 carries on as the same agent.

.EXAMPLE
    .\uninstall.ps1 -KeepIdentity
#>
#Requires -Version 5.1
#Requires -RunAsAdministrator
[CmdletBinding()]
param(
    [switch] $KeepIdentity
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$ServiceName = 'homediag-agent'
$Prefix = Join-Path $env:ProgramFiles 'homediag'
$DataDir = Join-Path $env:ProgramData 'homediag'
$StateDir = Join-Path $DataDir 'state'
$Wrapper = Join-Path $Prefix 'homediag-agent-service.exe'

function Say([string] $Message) { Write-Host "homediag: $Message" }

$service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if ($service) {
    if ($service.Status -ne 'Stopped') { Stop-Service -Name $ServiceName -Force }
    if (Test-Path $Wrapper) {
        & $Wrapper uninstall
    } else {
        & sc.exe delete $ServiceName
    }
    if ($LASTEXITCODE -ne 0) { throw "could not delete the service $ServiceName" }
}
if (Test-Path $Prefix) { Remove-Item -Recurse -Force $Prefix }

if ($KeepIdentity -and (Test-Path $StateDir)) {
    Get-ChildItem -Force $DataDir | Where-Object { $_.FullName -ne $StateDir } | Remove-Item -Recurse -Force
    # The service's account goes with the service: only SYSTEM and Administrators keep access.
    & icacls.exe $StateDir /remove:g '*S-1-5-19' /T /Q
    if ($LASTEXITCODE -ne 0) { throw "could not restrict $StateDir" }
    Say "kept $StateDir (identity and outbox)"
} elseif (Test-Path $DataDir) {
    Remove-Item -Recurse -Force $DataDir
}
Say 'removed the homediag agent'
