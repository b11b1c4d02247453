#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds Grouper, assembles the module folder out/Grouper, and with -Test runs every test.
.DESCRIPTION
    Nothing here needs pwsh: each step is one dotnet command, shown below, and the module folder is
    assembled by an MSBuild target of src/Grouper.PowerShell. Without pwsh run the same commands:
        dotnet build src/Grouper.PowerShell -c Release     # -> out/Grouper, ready for Import-Module
        dotnet test Grouper.slnx                           # all tests (what -Test runs)
.EXAMPLE
    ./build.ps1 -Test
.EXAMPLE
    ./build.ps1 -Configuration Debug; Import-Module ./out/Grouper
#>
[CmdletBinding()]
param(
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',
    [switch] $Test
)
$ErrorActionPreference = 'Stop'
Set-Location -LiteralPath $PSScriptRoot

& dotnet build src/Grouper.PowerShell -c $Configuration
if ($LASTEXITCODE) { throw "dotnet build failed ($LASTEXITCODE)" }
Write-Host "Module: $(Join-Path $PSScriptRoot 'out/Grouper')"

if ($Test) {
    & dotnet test Grouper.slnx -c $Configuration
    if ($LASTEXITCODE) { throw "tests failed ($LASTEXITCODE)" }
}
