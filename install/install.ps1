<#
.SYNOPSIS
Installs vmdkmount.exe on Windows: checks for the Dokan 2 driver, publishes one self-contained executable from
this checkout, copies it into an install folder and puts that folder on the user PATH.

.DESCRIPTION
Runs in PowerShell 7 and in Windows PowerShell 5.1. Needs the .NET 10 SDK (dotnet on PATH) unless -Exe names an
already published vmdkmount.exe. Nothing outside the install folder and the user PATH is changed; running it
again replaces the executable and leaves PATH as it is.

`vmdkmount mount` needs the Dokan 2.x driver (dokan2.dll, dokan2.sys and the dokan2 service that Dokan's
installer sets up). Without it the script stops with exit code 1 and says where to get it; -SkipDriverCheck
installs anyway (ls, cat, find, volumes, info and check work without the driver; extract and export
are Linux-only for now).

Exit codes: 0 installed (or, with -DryRun / -WhatIf, all steps printed), 1 Dokan 2 driver missing,
2 cannot install (no dotnet, the publish failed, bad arguments).

.PARAMETER Prefix
Install folder. Default: $env:LOCALAPPDATA\Programs\VmdkMount.

.PARAMETER SkipDriverCheck
Install even when the Dokan 2 driver is not found.

.PARAMETER DryRun
Print every step without doing it (the same as -WhatIf). The driver check still runs: it only reads.

.PARAMETER Exe
Install this vmdkmount.exe instead of publishing one from the checkout.

.PARAMETER BuildRoot
Folder for the publish's bin, obj and output (default: the checkout's build\ folder).

.PARAMETER System32
Where to look for dokan2.dll and drivers\dokan2.sys. Default: the system folder of this Windows.

.PARAMETER PathScope
User (default): the install folder is added to the user PATH (HKCU\Environment), once. None: PATH is left alone.

.PARAMETER PathFile
Keep the "user PATH" in this text file instead of the registry (for tests and for machines managed by policy).

.EXAMPLE
pwsh -File install\install.ps1
.EXAMPLE
powershell -ExecutionPolicy Bypass -File install\install.ps1 -Prefix D:\Tools\VmdkMount -DryRun
#>
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [string] $Prefix,
    [switch] $SkipDriverCheck,
    [switch] $DryRun,
    [string] $Exe,
    [string] $BuildRoot,
    [string] $System32,
    [ValidateSet('User', 'None')]
    [string] $PathScope = 'User',
    [string] $PathFile
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$DokanReleases = 'https://github.com/dokan-dev/dokany/releases'
# not $IsWindows: Windows PowerShell 5.1 does not have it
$OnWindows = [Environment]::OSVersion.Platform -eq [PlatformID]::Win32NT
if ($DryRun) { $WhatIfPreference = $true }
$Pretend = [bool]$WhatIfPreference

function Fail([int] $code, [string] $message) {
    [Console]::Error.WriteLine("install.ps1: $message")
    exit $code
}

# -WhatIf and -DryRun print each change as "would: ..." and make none
function Invoke-Step([string] $text, [scriptblock] $action) {
    if ($Pretend) { Write-Host "would: $text"; return }
    Write-Host $text
    & $action
}

# The installer of Dokan 2.x puts dokan2.dll into System32, dokan2.sys into System32\drivers and registers the
# driver as the kernel service "dokan2"; Dokan 1.x used the names dokan1.*. Both the library and the driver are
# needed: the library alone (copied beside some program) cannot mount anything.
function Test-DokanDriver([string] $system32) {
    $dll = Test-Path -LiteralPath (Join-Path $system32 'dokan2.dll') -PathType Leaf
    $sys = Test-Path -LiteralPath (Join-Path (Join-Path $system32 'drivers') 'dokan2.sys') -PathType Leaf
    $service = $OnWindows -and (Test-Path -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\dokan2')
    $old = (Test-Path -LiteralPath (Join-Path $system32 'dokan1.dll') -PathType Leaf) -or
           ($OnWindows -and (Test-Path -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\dokan1'))
    return [pscustomobject]@{ Present = ($dll -and ($sys -or $service)); Library = $dll; Driver = ($sys -or $service); Dokan1 = $old }
}

function Get-UserPath {
    if ($PathFile) {
        if (Test-Path -LiteralPath $PathFile -PathType Leaf) { return ([IO.File]::ReadAllText($PathFile)).Trim() }
        return ''
    }
    # read unexpanded: [Environment]::GetEnvironmentVariable would expand %USERPROFILE% and the like, and writing
    # that back would turn the user's REG_EXPAND_SZ entries into fixed paths
    $key = [Microsoft.Win32.Registry]::CurrentUser.OpenSubKey('Environment')
    if ($null -eq $key) { return '' }
    try { return [string]$key.GetValue('Path', '', [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames) }
    finally { $key.Close() }
}

function Set-UserPath([string] $value) {
    if ($PathFile) { [IO.File]::WriteAllText($PathFile, $value); return }
    $key = [Microsoft.Win32.Registry]::CurrentUser.CreateSubKey('Environment')
    try { $key.SetValue('Path', $value, [Microsoft.Win32.RegistryValueKind]::ExpandString) }
    finally { $key.Close() }
    # a registry write alone is not announced; setting (and removing) a user variable through .NET broadcasts
    # WM_SETTINGCHANGE, so that Explorer and the terminals it starts see the new PATH
    [Environment]::SetEnvironmentVariable('VMDKMOUNT_INSTALL', '1', 'User')
    [Environment]::SetEnvironmentVariable('VMDKMOUNT_INSTALL', $null, 'User')
}

# relative to PowerShell's current location (which [IO.Path]::GetFullPath does not follow after Set-Location)
function Get-FullPath([string] $p) {
    return $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($p)
}

function Get-NormalPath([string] $p) {
    return $p.Trim().TrimEnd('\', '/')
}

function Test-OnPath([string] $path, [string] $folder) {
    $want = Get-NormalPath $folder
    foreach ($entry in ($path -split ';')) {
        if ($entry.Trim() -eq '') { continue }
        foreach ($spelling in @($entry, [Environment]::ExpandEnvironmentVariables($entry))) {
            if ([string]::Equals((Get-NormalPath $spelling), $want, [StringComparison]::OrdinalIgnoreCase)) { return $true }
        }
    }
    return $false
}

$Root = Split-Path -Parent $PSScriptRoot
if ($PathFile) { $PathFile = Get-FullPath $PathFile }
elseif ($PathScope -eq 'User' -and -not $OnWindows) { Fail 2 'no user PATH of Windows here: give -PathFile FILE or -PathScope None' }

# --- 1. the Dokan 2 driver ---
if (-not $SkipDriverCheck) {
    if (-not $System32) { $System32 = [Environment]::SystemDirectory }
    if (-not $System32) { Fail 2 'no Windows system folder here: give -System32 FOLDER or -SkipDriverCheck' }
    $dokan = Test-DokanDriver $System32
    if (-not $dokan.Present) {
        $found = 'not found'
        if ($dokan.Library -and -not $dokan.Driver) { $found = 'dokan2.dll found, but not its driver (dokan2.sys / the dokan2 service)' }
        elseif ($dokan.Driver -and -not $dokan.Library) { $found = 'the dokan2 driver found, but not dokan2.dll' }
        elseif ($dokan.Dokan1) { $found = 'only Dokan 1.x found; vmdkmount needs Dokan 2.x' }
        Fail 1 ("the Dokan 2 driver is missing: $found in $System32.`n" +
            "  Install Dokan 2.x (DokanSetup.exe or Dokan_x64.msi of a 2.x release) from $DokanReleases and run this again,`n" +
            "  or give -SkipDriverCheck to install vmdkmount without it (ls, cat, find, volumes, info and check need none).")
    }
    Write-Host "Dokan 2 driver: found in $System32"
}

# --- 2. the executable ---
if (-not $Prefix) {
    if (-not $env:LOCALAPPDATA) { Fail 2 'LOCALAPPDATA is not set: give -Prefix FOLDER' }
    $Prefix = Join-Path (Join-Path $env:LOCALAPPDATA 'Programs') 'VmdkMount'
}
$Prefix = Get-FullPath $Prefix
# "C:\Tools\VmdkMount\" and "C:\Tools\VmdkMount" are one PATH entry; a drive's root keeps its backslash
if ($Prefix.Length -gt 3) { $Prefix = $Prefix.TrimEnd('\', '/') }

if ($Exe) {
    if (-not (Test-Path -LiteralPath $Exe -PathType Leaf)) { Fail 2 "no such file: $Exe" }
    $Built = Get-FullPath $Exe
}
else {
    if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) {
        Fail 2 'dotnet is not on PATH: install the .NET 10 SDK, or give -Exe PATH of a published vmdkmount.exe'
    }
    $project = Join-Path (Join-Path (Join-Path $Root 'src') 'VmdkMount.Cli') 'VmdkMount.Cli.csproj'
    if (-not (Test-Path -LiteralPath $project -PathType Leaf)) { Fail 2 "not a VmdkMount checkout: $project is missing" }
    $arguments = @('publish', $project, '-c', 'Release', '-r', 'win-x64', '--self-contained', '-p:PublishSingleFile=true', '-nologo')
    if ($BuildRoot) {
        $BuildRoot = Get-FullPath $BuildRoot
        # MSBuild wants the root with a trailing separator (it appends bin\ and obj\ to it)
        $arguments += ('-p:VmdkMountBuildRoot=' + $BuildRoot.TrimEnd('\', '/') + [IO.Path]::DirectorySeparatorChar)
        $output = Join-Path $BuildRoot 'publish-win-x64'
    }
    else {
        $output = Join-Path (Join-Path $Root 'build') 'publish-win-x64'
    }
    $arguments += @('-o', $output)
    $Built = Join-Path $output 'vmdkmount.exe'
    Invoke-Step ("dotnet " + ($arguments -join ' ')) {
        # Windows PowerShell 5.1 would turn a line on the native command's stderr into a terminating error
        $ErrorActionPreference = 'Continue'
        & dotnet @arguments
        $ErrorActionPreference = 'Stop'
        if ($LASTEXITCODE -ne 0) { Fail 2 "dotnet publish failed (exit code $LASTEXITCODE)" }
        if (-not (Test-Path -LiteralPath $Built -PathType Leaf)) { Fail 2 "dotnet publish made no $Built" }
    }
}

$Target = Join-Path $Prefix 'vmdkmount.exe'
Invoke-Step "copy $Built -> $Target" {
    try {
        if (-not (Test-Path -LiteralPath $Prefix -PathType Container)) { New-Item -ItemType Directory -Path $Prefix -Force -WhatIf:$false | Out-Null }
        Copy-Item -LiteralPath $Built -Destination $Target -Force -WhatIf:$false
    }
    catch {
        # a running vmdkmount.exe (a mount still up) cannot be replaced
        Fail 2 "cannot copy to ${Target}: $($_.Exception.Message)"
    }
}

# --- 3. PATH ---
if ($PathScope -eq 'User') {
    $userPath = Get-UserPath
    if (Test-OnPath $userPath $Prefix) {
        Write-Host "PATH: $Prefix is already on the user PATH"
    }
    else {
        $newPath = $Prefix
        if ($userPath.Trim() -ne '') { $newPath = $userPath.TrimEnd(';') + ';' + $Prefix }
        $where = 'the user PATH'
        if ($PathFile) { $where = "the user PATH in $PathFile" }
        Invoke-Step "add $Prefix to $where" { Set-UserPath $newPath }
    }
    # this session too, so that vmdkmount works without opening a new terminal
    if (-not $Pretend -and -not (Test-OnPath $env:Path $Prefix) -and $OnWindows) { $env:Path = $env:Path.TrimEnd(';') + ';' + $Prefix }
}

if ($Pretend) { Write-Host 'dry run: nothing was changed' }
else { Write-Host "installed: $Target (open a new terminal for the PATH change; try: vmdkmount --help)" }
exit 0
