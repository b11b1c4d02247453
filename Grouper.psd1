@{
    RootModule           = 'bin/Grouper.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5c0f4d1e-8b7a-4d2e-9a35-6f1c2b7e9d40'
    Author               = 'Grouper contributors'
    CompanyName          = 'Grouper'
    Copyright            = '(c) Grouper contributors. MIT License.'
    Description          = 'Turns datasets (CSV, TSV, JSON Lines, Parquet, pipeline objects) into group-structured datasets: Parquet shards with each group contiguous, an index for fetch-by-key, a manifest. Memory stays under a budget whatever the data or group size.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('Grouper.Format.ps1xml')
    CmdletsToExport      = @(
        'New-GroupedDataset'
        'Get-GroupedDataset'
        'Get-Group'
        'Get-GroupRecord'
        'Measure-GroupStats'
        'Export-GroupReport'
        'Merge-GroupedDataset'
        'Import-GroupedDataset'
        'Test-GroupedDataset'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('dataset', 'parquet', 'federated-learning', 'group-by', 'csv', 'jsonl')
            ProjectUri = 'https://github.com/grouper/grouper'
        }
    }
}
