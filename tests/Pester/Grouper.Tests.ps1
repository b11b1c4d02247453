#Requires -Version 7.4
# Pester 5 suite for users who have pwsh:  Invoke-Pester ./tests/Pester
# (CI runs the same scenarios through the hosted engine in ModuleTests.cs and parses this file to check
#  that every Grouper command and parameter it uses exists.)

BeforeAll {
    $repo = (Resolve-Path "$PSScriptRoot/../..").ProviderPath
    $module = Join-Path $repo 'out/Grouper/Grouper.psd1'
    if (-not (Test-Path $module)) { & dotnet build (Join-Path $repo 'src/Grouper.PowerShell') -c Release | Out-Null }
    Import-Module $module -Force

    function New-SampleCsv([string] $Path, [int] $Rows = 200) {
        $lines = [System.Collections.Generic.List[string]]::new()
        $lines.Add('user,id,city,note')
        for ($i = 0; $i -lt $Rows; $i++) { $lines.Add(('u{0},{1},{2},"n, {1}"' -f ($i * $i % 7), $i, @('Oslo', 'Lima')[$i % 2])) }
        Set-Content -LiteralPath $Path -Value $lines
    }
}

Describe 'New-GroupedDataset' {
    BeforeEach {
        $work = Join-Path $TestDrive 'work [1]'
        New-Item -ItemType Directory -Path $work -Force | Out-Null
        Push-Location -LiteralPath $work
        New-SampleCsv -Path (Join-Path $work 'people.csv')
    }
    AfterEach { Pop-Location }

    It 'groups a CSV by one column and reads every record back' {
        $ds = New-GroupedDataset -Path ./people.csv -Destination out -GroupBy user
        $ds.RecordCount | Should -Be 200
        $expected = Import-Csv ./people.csv | Group-Object user | Sort-Object Name
        $groups = Get-Group -Path out
        $groups.Key | Should -Be ([string[]]($expected.Name | Sort-Object { $_ } -Culture ([cultureinfo]::InvariantCulture)))
        foreach ($g in $expected) {
            $records = Get-GroupRecord -Path out -Key $g.Name
            $records.id | Should -Be $g.Group.id
        }
    }

    It 'groups pipeline objects by two columns' {
        $ds = Import-Csv ./people.csv | New-GroupedDataset -Destination 'by city' -GroupBy city, user
        $ds.GroupCount | Should -Be 8
        (Get-Group -LiteralPath 'by city' -Key 'Oslo|u0').RecordCount | Should -BeGreaterThan 0
    }

    It 'groups by a key script' {
        New-GroupedDataset -Path people.csv -Destination bycity -KeyScript { $_.city.ToUpper() } | Out-Null
        (Get-Group -Path bycity).Key | Should -Be @('LIMA', 'OSLO')
    }

    It 'takes files from Get-ChildItem' {
        $ds = Get-ChildItem -Filter *.csv | New-GroupedDataset -Destination fromfiles -GroupBy user
        $ds.RecordCount | Should -Be 200
    }

    It 'reports a missing key column with the file name' {
        { New-GroupedDataset -Path people.csv -Destination out -GroupBy nope -ErrorAction Stop } |
            Should -Throw -ErrorId 'BadInput.MissingColumn,Grouper.PowerShell.Commands.NewGroupedDatasetCommand'
        Test-Path out | Should -BeFalse
    }

    It 'reports a malformed file with file and line' {
        Set-Content -LiteralPath bad.csv -Value "user,id`nu1,1`nu2,2,extra"
        { New-GroupedDataset -Path bad.csv -Destination out -GroupBy user -ErrorAction Stop } |
            Should -Throw -ExpectedMessage '*bad.csv, line 3*'
    }

    It 'leaves an existing destination alone without -Force' {
        New-GroupedDataset -Path people.csv -Destination out -GroupBy user | Out-Null
        { New-GroupedDataset -Path people.csv -Destination out -GroupBy city -ErrorAction Stop } |
            Should -Throw -ErrorId 'DestinationExists,Grouper.PowerShell.Commands.NewGroupedDatasetCommand'
        (Get-GroupedDataset -Path out).GroupCount | Should -Be 4
        New-GroupedDataset -Path people.csv -Destination out -GroupBy city -Force | Out-Null
        (Get-GroupedDataset -Path out).GroupCount | Should -Be 2
    }

    It 'writes nothing with -WhatIf' {
        New-GroupedDataset -Path people.csv -Destination preview -GroupBy user -WhatIf
        Test-Path preview | Should -BeFalse
    }
}

Describe 'Reading a grouped dataset' {
    BeforeAll {
        $work = Join-Path $TestDrive 'read'
        New-Item -ItemType Directory -Path $work -Force | Out-Null
        New-SampleCsv -Path (Join-Path $work 'people.csv')
        $ds = New-GroupedDataset -LiteralPath (Join-Path $work 'people.csv') -Destination (Join-Path $work 'ds') -GroupBy user
    }

    It 'streams the first groups' {
        (Grouper\Get-Group -LiteralPath $ds.Path -First 2).Key | Should -Be @('u0', 'u1')
    }

    It 'finds groups by key from the pipeline and reports missing ones' {
        $found = 'u4', 'zz' | Get-Group -LiteralPath $ds.Path -ErrorVariable missing -ErrorAction SilentlyContinue
        $found.Key | Should -Be 'u4'
        $missing[0].FullyQualifiedErrorId | Should -Be 'GroupNotFound,Grouper.PowerShell.Commands.GetGroupCommand'
    }

    It 'streams records of piped groups with native types' {
        $records = Get-Group -LiteralPath $ds.Path -Key u2 | Get-GroupRecord
        $records.Count | Should -Be (Get-Group -LiteralPath $ds.Path -Key u2).RecordCount
        $records[0].note | Should -BeLike 'n, *'
    }

    It 'reads a whole dataset piped from Get-GroupedDataset' {
        ($ds | Get-GroupRecord).Count | Should -Be 200
        ($ds | Grouper\Get-Group -First 2).Key | Should -Be @('u0', 'u1')
    }

    It 'measures group sizes' {
        $stats = Measure-GroupStats -LiteralPath $ds.Path
        $stats.GroupCount | Should -Be 4
        $stats.RecordCount | Should -Be 200
        (Get-Group -LiteralPath $ds.Path | Measure-GroupStats).RecordCount | Should -Be 200
    }

    It 'describes the dataset' {
        $info = Get-GroupedDataset -LiteralPath $ds.Path
        $info.Columns | Should -Be @('user', 'id', 'city', 'note')
        $info.Manifest.FormatVersion | Should -Be 1
    }
}

Describe 'Partition schemes and selection' {
    BeforeAll {
        $work = Join-Path $TestDrive 'schemes'
        New-Item -ItemType Directory -Path $work -Force | Out-Null
        $csv = Join-Path $work 'labelled.csv'
        $lines = [System.Collections.Generic.List[string]]::new()
        $lines.Add('id,label')
        for ($i = 0; $i -lt 3000; $i++) { $lines.Add(('{0},{1}' -f $i, @('cat', 'dog', 'bird')[$i % 3])) }
        Set-Content -LiteralPath $csv -Value $lines
    }

    It 'builds a seeded Dirichlet partition that records its parameters' {
        $ds = New-GroupedDataset -LiteralPath $csv -Destination (Join-Path $work 'dir') -Scheme Dirichlet -GroupCount 10 -LabelColumn label -Alpha 0.5 -Seed 7
        $ds.Manifest.Key.Kind | Should -Be 'dirichlet'
        $ds.Manifest.Key.Parameters['alpha'] | Should -Be '0.5'
    }

    It 'previews a size-skewed partition without writing' {
        $preview = New-GroupedDataset -LiteralPath $csv -Destination (Join-Path $work 'none') -Scheme SizeSkew -SizeCurve Linear -GroupCount 3 -Preview
        ($preview | Measure-Object RecordCount -Sum).Sum | Should -Be 3000
        Test-Path (Join-Path $work 'none') | Should -BeFalse
    }

    It 'samples resumable cohorts' {
        $path = Join-Path $work 'dir'
        $all = Get-Group -LiteralPath $path -GroupsPerRound 3 -Rounds 4 -Seed 1
        $resumed = Get-Group -LiteralPath $path -GroupsPerRound 3 -Rounds 2 -Seed 1 -FirstRound 2
        $resumed.Key | Should -Be ($all | Select-Object -Skip 6).Key
    }

    It 'splits groups and records' {
        $path = Join-Path $work 'dir'
        $train = Get-Group -LiteralPath $path -HoldOutFraction 0.3 -SplitSeed 2
        $test = Get-Group -LiteralPath $path -HoldOutFraction 0.3 -SplitSeed 2 -Side Test
        ($train.Count + $test.Count) | Should -Be (Get-Group -LiteralPath $path).Count
        $g = Get-Group -LiteralPath $path -First 1
        $testRecords = $g | Get-GroupRecord -TestFraction 0.5 -Side Test
        $testRecords.Count | Should -Be ([math]::Round($g.RecordCount * 0.5, [MidpointRounding]::AwayFromZero))
    }
}

Describe 'Statistics and report' {
    BeforeAll {
        $work = Join-Path $TestDrive 'stats'
        New-Item -ItemType Directory -Path $work -Force | Out-Null
        $csv = Join-Path $work 'd.csv'
        Set-Content -LiteralPath $csv -Value @('user,label,text', 'u0,a,hello world', 'u0,a,hi', 'u1,a,x y z', 'u1,b,w')
        $ds = New-GroupedDataset -LiteralPath $csv -Destination (Join-Path $work 'ds') -GroupBy user
    }

    It 'measures label heterogeneity and text' {
        $s = Measure-GroupStats -LiteralPath $ds.Path -LabelColumn label -TextColumn text
        $s.LabelCount | Should -Be 2
        $s.TotalWords | Should -Be 7
        (Measure-GroupStats -LiteralPath $ds.Path -LabelColumn label -PerGroup).Count | Should -Be 2
    }

    It 'writes a report' {
        $file = Export-GroupReport -LiteralPath $ds.Path -Destination (Join-Path $work 'r.html') -LabelColumn label
        Get-Content -LiteralPath $file.FullName -Raw | Should -Match 'size-histogram'
    }
}

Describe 'Scale out' {
    BeforeAll {
        $work = Join-Path $TestDrive 'scale'
        New-Item -ItemType Directory -Path $work -Force | Out-Null
        $csv = Join-Path $work 'd.csv'
        Set-Content -LiteralPath $csv -Value (@('user,n') + (0..999 | ForEach-Object { 'u{0},{1}' -f ($_ % 37), $_ }))
    }

    It 'merges the parts of four workers into the single build' {
        New-GroupedDataset -LiteralPath $csv -Destination (Join-Path $work 'single') -GroupBy user | Out-Null
        0..3 | ForEach-Object { New-GroupedDataset -LiteralPath $csv -Destination (Join-Path $work "part-$_") -GroupBy user -WorkerIndex $_ -WorkerCount 4 } | Out-Null
        $merged = Merge-GroupedDataset -Path (Join-Path $work 'part-*') -Destination (Join-Path $work 'merged')
        $merged.RecordCount | Should -Be 1000
        (Get-Group -LiteralPath $merged.Path).Key | Should -Be (Get-Group -LiteralPath (Join-Path $work 'single')).Key
    }

    It 'imports a grouped dataset''s own shards as external files' {
        $src = Join-Path $work 'external'
        New-Item -ItemType Directory -Path $src -Force | Out-Null
        Copy-Item (Join-Path $work 'single/data/*.parquet') $src
        $imported = Import-GroupedDataset -LiteralPath $src -GroupBy user -Destination (Join-Path $work 'imported')
        $imported.GroupCount | Should -Be 37
    }
}

Describe 'Verification' {
    It 'finds nothing wrong with a fresh dataset and a flipped byte in a damaged one' {
        $work = Join-Path $TestDrive 'verify'
        New-Item -ItemType Directory -Path $work -Force | Out-Null
        $csv = Join-Path $work 'd.csv'
        Set-Content -LiteralPath $csv -Value (@('user,n') + (0..499 | ForEach-Object { 'u{0},{1}' -f ($_ % 7), $_ }))
        $ds = New-GroupedDataset -LiteralPath $csv -Destination (Join-Path $work 'ds') -GroupBy user
        Test-GroupedDataset -LiteralPath $ds.Path | Should -BeNullOrEmpty
        Test-GroupedDataset -LiteralPath $ds.Path -Quiet | Should -BeTrue
        $shard = Get-ChildItem (Join-Path $ds.Path 'data') -Filter *.parquet | Select-Object -First 1
        $bytes = [System.IO.File]::ReadAllBytes($shard.FullName); $bytes[100] = $bytes[100] -bxor 1
        [System.IO.File]::WriteAllBytes($shard.FullName, $bytes)
        (Test-GroupedDataset -LiteralPath $ds.Path).Check | Should -Be 'checksum'
    }
}
