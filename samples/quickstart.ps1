# Quick start: group 7,930 Debian packages by maintainer, then look at the groups.
# Runs in pwsh (Import-Module ./out/Grouper) or without it:
#   dotnet run --project tools/Grouper.Host -- samples/quickstart.ps1
param([string] $Destination = './out/debian-by-maintainer')

$ds = New-GroupedDataset -Path ./samples/debian-packages.csv -Destination $Destination -GroupBy maintainer -Force
$ds

# Group sizes: most maintainers have one package, teams have hundreds.
Measure-GroupStats -LiteralPath $ds.Path

# The largest groups, read from the index only.
Grouper\Get-Group -LiteralPath $ds.Path | Where-Object RecordCount -ge 80

# One group by key, its records streamed as objects (the first eight shown).
$shown = 0
Get-Group -LiteralPath $ds.Path -Key 'Debian Games Team <pkg-games-devel@lists.alioth.debian.org>' |
    Get-GroupRecord | Where-Object { $shown++ -lt 8 } |
    ForEach-Object { '{0,-24} {1,-12} {2}' -f $_.package, $_.version, $_.description }
