#!/usr/bin/env python3
"""Writes src/Grouper.PowerShell/en-US/Grouper.PowerShell.dll-Help.xml (MAML) from the text below.
Run after changing a cmdlet's parameters or help; the build copies the XML into the module. Edit the text here,
never the XML: `gen-help.py --check` says whether the XML is what this writes (it exits 1 when not), and a test
(tests/Pester ModuleTests) checks the XML's parameters against the cmdlets'."""
from xml.sax.saxutils import escape as e
import os
import sys

CMDLETS = [
 dict(name="New-GroupedDataset", verb="New", noun="GroupedDataset",
  synopsis="Builds a grouped dataset from files or from objects on the pipeline.",
  description=["Reads CSV/TSV (or text with another delimiter, -Delimiter), JSON Lines or Parquet files (a file, a folder, a wildcard; .gz for text formats), or objects from the pipeline, gives every record a group key (one or more columns with -GroupBy, or a script block with -KeyScript), and writes a grouped dataset: Parquet shards in which each group's records are contiguous and in input order, an index for finding a group by key, and a manifest.",
   "Memory stays under -MemoryLimit (default 256MB) whatever the size of the input or of the largest group: records are sorted in memory up to half the budget, spilled as LZ4-compressed runs and merged.",
   "The dataset is written into a temporary folder beside the destination and moved into place only when complete and verified. An existing destination is left alone unless -Force is given. Ctrl+C stops the build and removes what it wrote. A record that cannot be read (malformed line, missing key column, schema mismatch) stops the build with an error that names the file and line; nothing is written.",
   "Write-Progress shows how far the build is, a few times a second: while it reads, the records and megabytes read and the percentage of the input (of all the files named in one call; of the file being read for files piped one by one; none for objects), then the records written; and, once a phase has run a second, the time it should still take at its pace so far.",
   "Files piped from Get-ChildItem (and Resolve-Path's paths, or any object with a PSPath) are read as input files, and datasets piped from Get-GroupedDataset as their shards (to group them again by another key). The key of a record grouped by several columns is the columns' canonical texts joined by '|' (with '\\' and '|' escaped); see about_Grouper.",
   "A scheme's parameters (-GroupCount, -IdColumn, -LabelColumn, -Labels, -Alpha, -DirichletMode, -MinGroupSize, -LabelsPerGroup, -SizeCurve, -Exponent) are refused where the key does not use them (error SchemeParameterUnused): a misspelt or misplaced one does not pass unnoticed."],
  params=[
   ("Path","string[]",True,"0","false","true","Input files, folders or wildcard patterns (CSV, TSV, JSON Lines, Parquet; text formats may be .gz). Text is UTF-8; CSV and TSV files with a UTF-16 or UTF-32 byte order mark (Excel's \"Unicode text\") are read too. Folders are read recursively, in ordinal order of the file paths (their files of those extensions; with -Format, their files of any extension, see -Format); a grouped dataset's folder is its shards (to group its records again by another key; their old key comes as the column __group_key_1); files inside the destination (a folder that holds it, rebuilt with -Force) are skipped with a warning, and a path all of whose files are inside it is an error. A path that matches nothing, or a file whose format cannot be told, is reported and stops the build before it commits: the destination is left as it was (with -Force, a typo does not replace a dataset with one that lacks the file). Nested Parquet columns (lists, structs, maps) become text columns holding each value's JSON."),
   ("LiteralPath","string[]",True,"named","true (ByPropertyName)","false","Input paths taken exactly as written (no wildcards). Aliases: PSPath, LP."),
   ("InputObject","psobject",True,"named","true (ByValue)","false","Objects whose properties (or hashtable keys, taken in key order) are the record's fields, for example from Import-Csv or ConvertFrom-Json. Property values keep their .NET types; nested values (arrays, hashtables, [pscustomobject]s) are kept as their JSON text. When nothing comes down the pipeline (no object, no file), nothing is written and the error NoInput says so."),
   ("Destination","string",True,"1","false","false","The folder of the new dataset. It must not exist unless -Force is given. A trailing separator (out/, as tab completion writes a folder) names the same folder."),
   ("GroupBy","string[]",False,"named","false","false","Key columns. A name matches its column case aside, as PowerShell matches property names (unless two columns differ only in case: then as written); the manifest records the column as the input spells it. Tab completion offers the columns of the first input file."),
   ("KeyScript","scriptblock",False,"named","false","false","A script block that returns the key of the record in $_ (for a file's records, an object of the kind Get-GroupRecord writes; for pipeline input, the object itself). Several outputs, or one array (,@($_.a, $_.b)), are joined like a composite key; a hashtable or an object is refused (it is no key)."),
   ("KeyPattern","string",False,"named","false","false","With one -GroupBy column: the key is this regular expression's capture (the group named 'key', else group 1, else the whole match). A value that does not match has no key."),
   ("HashBuckets","int",False,"named","false","false","Hash the key (xxHash3 with -Seed) into this many buckets, named 0..N-1 with leading zeros."),
   ("IdsPerGroup","int",False,"named","false","false","GroupedNaturalId: merge this many consecutive natural ids (in key order) into one group, named by its number (ten digits)."),
   ("Scheme","PartitionScheme",False,"named","false","false","A synthetic partition into -GroupCount numbered groups: Iid, Dirichlet (label skew, with -LabelColumn and -Alpha), Shard (each group holds -LabelsPerGroup labels) or SizeSkew (group sizes follow -SizeCurve). Each record's draw is xxHash3 of -Seed and its position (or -IdColumn), so the same input and seed give the same groups on any machine. The scheme and its parameters are recorded in the manifest."),
   ("GroupCount","int",False,"named","false","false","Number of groups of a -Scheme."),
   ("Seed","long",False,"named","false","false","Seed of a -Scheme or of -HashBuckets. Default 0."),
   ("LabelColumn","string",False,"named","false","false","The label column of the Dirichlet and Shard schemes; the name matches its column case aside, as -GroupBy does. Tab completion offers the input's columns."),
   ("Alpha","double",False,"named","false","false","Dirichlet concentration: smaller gives more label skew (0.1 strong, 100 close to IID)."),
   ("DirichletMode","DirichletVariant",False,"named","false","false","PerLabel (default): each label's records are spread over the groups by Dir(alpha) proportions (Dataset Grouper's recipe). PerGroup: each group draws label proportions from Dir(alpha) over the labels (Flower's InnerDirichlet); the labels are read from the input files first unless -Labels is given."),
   ("MinGroupSize","long",False,"named","false","false","Dirichlet only: redraw the proportions until every group's expected size, less three standard deviations, is at least this many records (the label counts are read from the input files first)."),
   ("LabelsPerGroup","int",False,"named","false","false","Shard scheme: how many labels each group holds."),
   ("Labels","string[]",False,"named","false","false","The label values, for schemes that must know them before the first record (Shard, per-group Dirichlet) when the input comes from the pipeline."),
   ("SizeCurve","GroupSizeCurve",False,"named","false","false","SizeSkew curve: Linear (weight j+1), Square ((j+1)^2), Exponential (e^j) or PowerLaw ((j+1)^-Exponent, the default)."),
   ("Exponent","double",False,"named","false","false","Exponent s of the PowerLaw curve (Zipf). Default 1."),
   ("IdColumn","string",False,"named","false","false","Draw a scheme's randomness from this column's value instead of the record's position: records with the same id land in the same group, whatever the input order. The name matches its column case aside, as -GroupBy does."),
   ("WorkerIndex","int",False,"named","false","false","This worker's number (0-based) in a sharded build of -WorkerCount workers; the result is a part for Merge-GroupedDataset."),
   ("WorkerCount","int",False,"named","false","false","Number of workers of a sharded build."),
   ("SplitBy","SplitBy",False,"named","false","false","Key (default): every worker reads all input and keeps the groups with xxh3_64(UTF-8 key, 0) mod WorkerCount = WorkerIndex. File: worker i reads the input files at positions i, i+n, … of the ordered file list and keeps all their groups (for inputs whose groups do not span files; not with -Scheme, -HashBuckets or -IdsPerGroup, whose numbered groups every worker would make)."),
   ("Preview","switch",False,"named","false","false","Report the groups the build would make, with their record and byte counts, without writing a dataset (only keys and sizes are kept)."),
   ("MemoryLimit","long",False,"named","false","false","Memory budget of the build in bytes; accepts 256MB, 1GB. Default 256MB, at least 4MB."),
   ("NullKeyGroup","string",False,"named","false","false","Put records whose key is null or empty in a group of this name, instead of stopping with an error. With several -GroupBy columns, each null or empty part becomes the name (a record of a null city and kind a is in the group NAME|a). Choose a name no value has: a value equal to it shares its group."),
   ("Format","InputFormat",False,"named","false","false","Auto (by extension, the default), Csv, Tsv, JsonLines or Parquet. A format named is every input's, whatever its extension (data.txt read as CSV). A folder is then read whole, in that format: every file in it except hidden and system files, names that begin with a dot, a grouped dataset's index and manifest, and files whose extension names another kind of format (.jsonl, .json, .ndjson, .parquet and .pq files are not read as CSV or TSV; .csv, .tsv and .tab files are not read as JSON Lines or Parquet; CSV and TSV are one kind). Any other file is read in the format named, and one that is not (a README.md) stops the build, naming it: name the files with a wildcard (./export/*.txt) to leave others out."),
   ("Delimiter","Char",False,"named","false","false","The field delimiter of delimited text inputs, as Import-Csv names it: ';' for the CSV files Excel writes where the decimal separator is a comma, '|', \"`t\". Any ASCII character but a quote, CR or LF (error InvalidDelimiter). It makes the inputs delimited text: with -Format Auto, .csv, .tsv, .tab and .txt files (.gz too) are read with it, a folder's such files are its inputs, and a JSON Lines or Parquet file named with it stops the command (error DelimiterWithNonTextInput); with -Format Csv it replaces the comma; it is refused with -Format JsonLines or Parquet (DelimiterWithNonTextFormat), with -Format Tsv unless it is the tab (DelimiterConflictsWithTsv), and with records on the pipeline (DelimiterWithPipelineRecords). Datasets are the same whatever the delimiter: their manifest records no input format."),
   ("Quoting","InputQuoting",False,"named","false","false","How delimited text is quoted. Standard (the default): RFC 4180, a field that starts with a quote is quoted and may hold delimiters, doubled quotes and line breaks. None: quotes are ordinary characters everywhere and a record is one line, as DuckDB's quote='' and pandas' QUOTE_NONE read (IMDb's TSV files, whose titles such as \"Quoted\" title stop a Standard read with 'follows the closing quote'). With -Format Auto, -Quoting None makes the inputs delimited text as -Delimiter does (errors QuotingWithNonTextInput, QuotingWithNonTextFormat, QuotingWithPipelineRecords)."),
   ("Force","switch",False,"named","false","false","Replace an existing dataset at -Destination. The old dataset stays until the new one is complete."),
   ("Durable","switch",False,"named","false","false","Write the new dataset through to the disk (fsync of its files and folders) before committing it, so that a power loss or a crash of the machine cannot leave a committed dataset whose files lack their data. Replacing a dataset with -Force always does this: the old dataset is deleted only once the new one is on the disk. Without -Durable a new dataset is committed as soon as it is written, as DuckDB's COPY and most tools do; a killed process never leaves a partial dataset either way."),
   ("WhatIf","switch",False,"named","false","false","Shows what would be built without writing anything."),
   ("Confirm","switch",False,"named","false","false","Asks before building."),
  ],
  outputs=[("Grouper.PowerShell.GroupedDatasetInfo","The new dataset: path, key, group and record counts, columns, shards."),
           ("Grouper.PowerShell.GroupPreview","With -Preview: one object per group the build would make (key, record and byte counts), nothing written.")],
  examples=[
   ("New-GroupedDataset -Path ./samples/debian-packages.csv -Destination ./by-maintainer -GroupBy maintainer","Groups Debian packages by maintainer; each maintainer's packages are stored together."),
   ("Get-ChildItem ./logs/*.jsonl.gz | New-GroupedDataset -Destination ./by-user -GroupBy user_id -MemoryLimit 1GB -Force","Groups many compressed JSON Lines files by user with a 1 GB budget, replacing an earlier dataset."),
   ("Import-Csv ./flights.csv | New-GroupedDataset -Destination ./by-route -GroupBy origin, dest","Streams objects from Import-Csv and groups them by the pair (origin, dest); keys look like 'JFK|LAX'."),
   ("New-GroupedDataset ./c4/*.parquet ./by-domain -KeyScript { ([uri]$_.url).Host }","Groups web pages by the host name of their URL with a key script."),
   ("New-GroupedDataset ./c4/*.parquet ./by-host -GroupBy url -KeyPattern '^https?://(?<key>[^/:]+)'","The same with a regular expression, without running a script per record."),
   ("New-GroupedDataset ./cifar.csv ./cifar-dir -Scheme Dirichlet -GroupCount 100 -LabelColumn label -Alpha 0.5 -Seed 7","100 clients with Dirichlet label skew; the same seed gives the same clients on every run."),
   ("New-GroupedDataset ./cifar.csv ./preview -Scheme SizeSkew -SizeCurve PowerLaw -Exponent 1.2 -GroupCount 50 -Preview","Shows how many records each of 50 power-law sized groups would get, without writing anything."),
   ("New-GroupedDataset ./reviews.csv ./by-5-users -GroupBy user_id -IdsPerGroup 5","Merges every 5 users (in key order) into one group (GroupedNaturalId)."),
   ("New-GroupedDataset -LiteralPath './ventes [2024].csv' -Destination ./par-client -GroupBy client -Delimiter ';'","Groups a semicolon-separated CSV file, as Excel saves CSV where the decimal separator is a comma (Export-Csv -UseCulture writes such files too)."),
   ("New-GroupedDataset ./title.basics.tsv.gz ./by-type -GroupBy titleType -Quoting None","Groups IMDb's title.basics.tsv.gz, whose titles hold quotes as text (\"Quoted\" title): without -Quoting None the first such title stops the build."),
   ("New-GroupedDataset ./export ./by-user -GroupBy user -Format Csv","Reads every file of the folder ./export (data.txt, part-0001) as CSV; hidden files and JSON Lines or Parquet files in it are left out."),
   ("New-GroupedDataset ./c4/*.parquet ./part-$env:JOB_COMPLETION_INDEX -GroupBy domain -WorkerIndex $env:JOB_COMPLETION_INDEX -WorkerCount 16","One of 16 workers of a Kubernetes indexed job; Merge-GroupedDataset combines the parts."),
  ],
  related=["Get-GroupedDataset","Get-Group","about_Grouper"]),
 dict(name="Get-GroupedDataset", verb="Get", noun="GroupedDataset",
  synopsis="Opens grouped datasets and shows their manifests.",
  description=["Reads and validates the manifest of each dataset folder (format version, files present with the sizes recorded) and emits an object describing it. The full manifest is in the Manifest property."],
  params=[
   ("Path","string[]",True,"0","true (ByValue, ByPropertyName)","true","Dataset folders; wildcards are allowed. Strings bind by value; an object with a Path property (and no PSPath) by that property."),
   ("LiteralPath","string[]",True,"named","true (ByPropertyName)","false","Dataset folders taken exactly as written. Aliases: PSPath, LP."),
  ],
  outputs=[("Grouper.PowerShell.GroupedDatasetInfo","One object per dataset.")],
  examples=[
   ("Get-GroupedDataset ./by-maintainer","Shows the dataset's key, group and record counts, columns and size."),
   ("(Get-GroupedDataset ./by-maintainer).Manifest.Schema","Lists the columns with their types."),
  ],
  related=["New-GroupedDataset","Get-Group","about_Grouper"]),
 dict(name="Get-Group", verb="Get", noun="Group",
  synopsis="Streams the groups of a grouped dataset, or finds groups by key.",
  description=["Reads the dataset's index, not its records: each group comes with its key, record count and byte count, in storage order (ordinal order of the keys). With -Key, finds each group with one index block read.",
   "Get-Group shares its name with Exchange's Get-Group. In a session that loads both, call it Grouper\\Get-Group."],
  params=[
   ("Path","string[]",True,"0","false","true","The dataset folder; wildcards are allowed."),
   ("LiteralPath","string[]",True,"named","true (ByPropertyName)","false","The dataset folder taken exactly as written; datasets from Get-GroupedDataset and folders from Get-Item or Get-ChildItem bind it by their PSPath. Aliases: PSPath, LP."),
   ("Key","GroupKey[]",False,"1","true (ByValue)","false","Keys of the groups to get: text, or numbers, dates, booleans and GUIDs, taken in the canonical text a build gives such a key. A key that is not in the dataset, or a null one, is reported as an error and the others are still returned. The size filters (-MinRecords, -MaxRecords, -MinBytes, -MaxBytes) and -HoldOutFraction apply to the groups found, which leave out a group that does not pass without an error; -Shuffle, -Skip and -GroupsPerRound select among all groups and are refused with -Key, keys given by name or piped in alike (error KeyWithSelection). An object with a PSPath piped in (a dataset, a folder from Get-Item) names the dataset, not a key."),
   ("First","int",False,"named","false","false","Emit at most this many groups."),
   ("MinRecords","long",False,"named","false","false","Only groups with at least this many records (read from the index); with -Key too."),
   ("MaxRecords","long",False,"named","false","false","Only groups with at most this many records."),
   ("MinBytes","long",False,"named","false","false","Only groups of at least this many bytes."),
   ("MaxBytes","long",False,"named","false","false","Only groups of at most this many bytes."),
   ("Shuffle","switch",False,"named","false","false","Emit the groups in a seeded random order (xxHash3 of key and -Seed). Not with -GroupsPerRound, whose cohorts are drawn at random already (error ShuffleWithRounds)."),
   ("Seed","long",False,"named","false","false","Seed of -Shuffle and of cohort sampling."),
   ("Skip","long",False,"named","false","false","Skip this many selected groups: each group carries its Position, so a run resumes with -Skip (last Position + 1). With -GroupsPerRound, skips as many cohort members, counted from -FirstRound, and the rounds it passes whole are not sampled."),
   ("HoldOutFraction","double",False,"named","false","false","Split the groups: a group is held out (the Test side) when the draw from xxHash3(key, -SplitSeed) is below this fraction. With -Key, a key's group is returned when it is on -Side."),
   ("Side","Side",False,"named","false","false","Train (default) or Test side of -HoldOutFraction; given without it, an error (ParameterNeedsHoldOutFraction), as is -SplitSeed."),
   ("SplitSeed","long",False,"named","false","false","Seed of -HoldOutFraction."),
   ("GroupsPerRound","int",False,"named","false","false","Sample this many distinct groups per round (federated cohorts), for -Rounds rounds; each group carries its Round."),
   ("Rounds","int",False,"named","false","false","Number of rounds to sample. Default 1. -Rounds, -FirstRound and -SizeWeighted without -GroupsPerRound are an error (ParameterNeedsGroupsPerRound)."),
   ("FirstRound","int",False,"named","false","false","First round to sample; round r depends only on -Seed and r, so a run resumes at any round."),
   ("SizeWeighted","switch",False,"named","false","false","Draw cohort members with probability proportional to their record count (without replacement within a round)."),
  ],
  outputs=[("Grouper.PowerShell.GroupEntry","Key, RecordCount, ByteCount, Ordinal, Shard, RowOffset, DatasetPath.")],
  examples=[
   ("Grouper\\Get-Group ./by-maintainer -First 5","The first five groups in storage order (module-qualified, for sessions that also load Exchange)."),
   ("'Debian Perl Group <pkg-perl-maintainers@lists.alioth.debian.org>' | Get-Group ./by-maintainer","Finds one group by key from the pipeline."),
   ("Get-Group ./by-maintainer -MinRecords 100","Groups with at least 100 records, filtered in the index."),
   ("Get-GroupedDataset ./by-maintainer | Get-Group -First 3","The first three groups of a dataset piped from Get-GroupedDataset."),
   ("Get-Group ./cifar-dir -GroupsPerRound 10 -Rounds 500 -Seed 1 -FirstRound 120 | Get-GroupRecord","Cohorts of 10 clients for rounds 120 to 619 of a training run that restarted at round 120."),
   ("Get-Group ./by-user -HoldOutFraction 0.2 -SplitSeed 3 -Side Test","The 20% of groups held out for testing; -Side Train gives the others."),
   ("Get-Content users.txt | Get-Group ./by-user -MinRecords 50","The groups of the users listed in a file that have at least 50 records."),
  ],
  related=["Get-GroupRecord","Measure-GroupStats","about_Grouper"]),
 dict(name="Get-GroupRecord", verb="Get", noun="GroupRecord",
  synopsis="Streams the records of groups as objects.",
  description=["Takes groups from the pipeline (from Get-Group), a dataset and keys, or a whole dataset (a path without -Key, or datasets from Get-GroupedDataset), and emits each group's records in input order as objects with one property per column, in their native types (strings, numbers, booleans, DateTime, decimal, byte[]). Given a whole dataset, emits every group's records in storage order in one scan of the shards, about twice as fast as Get-Group | Get-GroupRecord. Records are read one row group at a time, so a group larger than memory streams."],
  params=[
   ("Group","GroupEntry[]",True,"named","true (ByValue)","false","Groups from Get-Group."),
   ("Path","string[]",True,"0","false","true","The dataset folder; wildcards are allowed."),
   ("LiteralPath","string[]",True,"named","true (ByPropertyName)","false","The dataset folder taken exactly as written. Aliases: PSPath, LP."),
   ("Key","GroupKey[]",False,"1","true (ByValue)","false","Keys of the groups whose records to emit (text, or numbers, dates, booleans and GUIDs in their canonical key text); a key not in the dataset, or a null one, is an error. Without it, every group's records, in storage order, read in one pass over the shards; an object with a PSPath piped in (a dataset, a folder from Get-Item) is read so."),
   ("Dataset","GroupedDatasetInfo[]",True,"named","true (ByValue)","false","Datasets from Get-GroupedDataset: every group's records of each, as without -Key."),
   ("Property","string[]",False,"named","false","false","Only these columns; the others are not read at all. A name matches its column as PowerShell matches property names, case aside (unless two columns differ only in case: then as written); each column comes once."),
   ("TestFraction","double",False,"named","false","false","Split each group's records: the last fraction of a group (or, with -RandomSplit, a seeded random fraction) is the Test side."),
   ("Side","Side",False,"named","false","false","Train (default) or Test side of -TestFraction; given without it, an error (ParameterNeedsTestFraction), as are -RandomSplit and -SplitSeed."),
   ("RandomSplit","switch",False,"named","false","false","With -TestFraction: choose each group's test records by xxHash3 of their position and a seed derived from -SplitSeed and the key."),
   ("SplitSeed","long",False,"named","false","false","Seed of -RandomSplit."),
  ],
  outputs=[("Grouper.PowerShell.GroupRecord","One object per record, of a class made for the dataset's columns (derived from Grouper.PowerShell.GroupRecord): one property per column, in the columns' order, settable. A column whose name equals an earlier column's but for case, which PowerShell's properties cannot tell apart, is read under a number (A after a as A_2), with a warning.")],
  examples=[
   ("Get-Group ./by-maintainer -First 2 | Get-GroupRecord","The records of the first two groups."),
   ("Get-GroupRecord ./by-maintainer -Key 'Debian Games Team <pkg-games-devel@lists.alioth.debian.org>' | Export-Csv games.csv","Exports one group's records."),
   ("Get-Group ./by-user | Get-GroupRecord -TestFraction 0.1 -Side Test","The last 10% of every user's records, for evaluation."),
   ("Get-GroupRecord ./by-user -Property user, label | Export-Csv labels.csv","Every record of the dataset, group after group, two of its columns only."),
   ("Get-GroupedDataset ./by-user, ./by-domain | Get-GroupRecord -Property user, text","Every record of two datasets, group after group, with two of their columns."),
  ],
  related=["Get-Group","about_Grouper"]),
 dict(name="Measure-GroupStats", verb="Measure", noun="GroupStats",
  synopsis="Measures group counts and the distribution of group sizes.",
  description=["From a dataset's index (no records are read) or from groups on the pipeline: the number of groups, records and bytes; the smallest, largest, mean and median group size in records, the 10th, 90th and 99th percentiles (nearest rank), the standard deviation, the Gini coefficient and the share of records in the largest 1% of groups. Memory holds one entry per distinct group size.",
   "With -LabelColumn and -TextColumn it reads records too; with -PerGroup it emits one row per group."],
  params=[
   ("Path","string[]",True,"0","false","true","Dataset folders; wildcards are allowed."),
   ("LiteralPath","string[]",True,"named","true (ByPropertyName)","false","Dataset folders taken exactly as written. Aliases: PSPath, LP."),
   ("InputObject","GroupEntry[]",True,"named","true (ByValue)","false","Groups from Get-Group, for statistics of a selection. Each is found again by key in its dataset as it is now (built again since Get-Group, say); a key the dataset no longer has is an error (GroupNotFound). A group piped more than once is measured once, with a warning. The output's DatasetPath names the dataset, one object for each dataset the groups come from."),
   ("LabelColumn","string",False,"named","false","false","Also measure label heterogeneity: labels per group, label entropy (bits), and the Jensen-Shannon divergence, Hellinger distance and earth mover's distance (labels by value when every label is a finite number, else by rank in ordinal order) of each group's label distribution from the whole dataset's, groups piped in too. A null or blank label is missing: such records are left out of the label distributions and counted in MissingLabels (a group of only such records has no entropy or distances). Of a whole dataset, reads the label column once: each group's label counts wait in a temporary file until the global counts are known. Of groups piped in, reads the label column of every group of their dataset for the global counts first, then the groups piped in. The name matches its column case aside, as -Property of Get-GroupRecord does."),
   ("TextColumn","string",False,"named","false","false","Also count words (runs of non-whitespace, splitting on any Unicode whitespace) and characters (Unicode scalar values) of this column."),
   ("PerGroup","switch",False,"named","false","false","Emit one row per group (Key, RecordCount, ByteCount and the label and text measures) instead of the summary, for Export-Csv."),
  ],
  outputs=[("Grouper.PowerShell.GroupStats","DatasetPath, GroupCount, RecordCount, ByteCount, MinRecords, MaxRecords, MeanRecords, MedianRecords, P90Records, P99Records; with -LabelColumn, LabelCount, MissingLabels and the label measures' means and maxima. With -PerGroup, Grouper.PowerShell.GroupStatsRow objects instead.")],
  examples=[
   ("Measure-GroupStats ./by-maintainer","Size distribution of all groups."),
   ("Get-Group ./by-maintainer | Where-Object RecordCount -gt 1 | Measure-GroupStats","Statistics of the groups with more than one record."),
   ("Measure-GroupStats ./cifar-dir -LabelColumn label","How heterogeneous the clients' label distributions are."),
   ("Measure-GroupStats ./fedc4 -TextColumn text -PerGroup | Export-Csv per-domain.csv","Words and characters of every group, for a spreadsheet."),
  ],
  related=["Get-Group","about_Grouper"]),
  dict(name="Export-GroupReport", verb="Export", noun="GroupReport",
  synopsis="Writes a self-contained HTML report of a grouped dataset.",
  description=["One HTML file with no network fetches: the manifest summary, the group-size statistics (the same numbers as Measure-GroupStats), a histogram of group sizes on log-scale bins, the cumulative share of groups and records by group size, the largest groups and, with -LabelColumn, label heterogeneity and a heatmap of the label mix of a seeded sample of groups. Charts are inline SVG.",
   "The report is written beside the destination and moved into place when complete."],
  params=[
   ("Path","string",True,"0","false","true","The dataset folder; wildcards are allowed but must name one dataset."),
   ("LiteralPath","string",True,"named","true (ByPropertyName)","false","The dataset folder taken exactly as written. Aliases: PSPath, LP."),
   ("Destination","string",True,"1","false","false","The HTML file to write. Its folder must exist (it is not made, as with Out-File); an existing file is replaced only with -Force. Not inside the dataset's folder (error ReportInsideDataset), whose files a report must not replace."),
   ("LabelColumn","string",False,"named","false","false","Adds label heterogeneity and a label heatmap. The name matches its column case aside, as -Property of Get-GroupRecord does."),
   ("Seed","long",False,"named","false","false","Seed of the heatmap's sample of groups."),
   ("Force","switch",False,"named","false","false","Replace an existing file."),
   ("WhatIf","switch",False,"named","false","false","Shows what would be written."),
   ("Confirm","switch",False,"named","false","false","Asks before writing."),
  ],
  outputs=[("System.IO.FileInfo","The report file.")],
  examples=[
   ("Export-GroupReport ./by-maintainer ./by-maintainer.html","A report of group sizes."),
   ("Export-GroupReport ./cifar-dir ./cifar-dir.html -LabelColumn label","With label heterogeneity and a heatmap of 40 sampled clients' label mix."),
  ],
  related=["Measure-GroupStats","about_Grouper"]),
  dict(name="Merge-GroupedDataset", verb="Merge", noun="GroupedDataset",
  synopsis="Combines the parts of a sharded build into one grouped dataset.",
  description=["Takes the parts written by New-GroupedDataset -WorkerIndex i -WorkerCount n (all n of them) and writes one dataset without rewriting record data: the parts' shards are hard-linked (or copied where links are not possible, or moved with -Transfer Move), their indexes merged by key and their manifests combined.",
   "Refuses parts that are missing or repeated, that disagree on key or worker count, that read different input, or whose groups overlap, and parts of a key split that disagree on schema. The merged dataset is written beside the destination and moved into place when complete.",
   "The workers of a file split (-SplitBy File) each infer JSON Lines and object columns from their own files, so their parts' schemas may differ: integers in one and fractions in another, a column nullable or absent in one only, Parquet inputs of different integer widths, decimal scales or time units. Then the merge writes the parts' records again under the types that hold them all (integers to int64 or double, decimals to the largest scale and whole digits, times to the finest unit, any column nullable where one part lacks it), with a warning; this takes as long as a build, and -Transfer does not apply. Text against numbers, or instants against local times, is refused, naming the column and both parts.",
   "Write-Progress shows how far the merge is, a few times a second: the records of the shards linked, copied or moved so far of all the parts' records (the shard under way as the current operation), then the merge of the indexes; a rewrite reports as a build does."],
  params=[
   ("Path","string[]",True,"0","false","true","The parts (wildcards, e.g. part-*). The destination, when a wildcard matches it too (part-* merged into part-all again with -Force), is skipped with a warning. A path that names no folder is reported, and nothing is merged (error PartsNotFound)."),
   ("LiteralPath","string[]",True,"named","true (ByPropertyName)","false","The parts, taken exactly as written. Aliases: PSPath, LP."),
   ("Destination","string",True,"1","false","false","The merged dataset."),
   ("Transfer","TransferMode",False,"named","false","false","Link (default), Copy or Move the shards. With Move, what can refuse the merge (overlapping parts, an index that disagrees with its manifest) is checked before any shard moves, and a merge stopped after (Ctrl+C, a shard that cannot be moved) moves the shards back into their parts."),
   ("Force","switch",False,"named","false","false","Replace an existing dataset at -Destination."),
   ("Durable","switch",False,"named","false","false","Write the new dataset through to the disk (fsync of its files and folders) before committing it, so that a power loss or a crash of the machine cannot leave a committed dataset whose files lack their data. Replacing a dataset with -Force always does this: the old dataset is deleted only once the new one is on the disk. Without -Durable a new dataset is committed as soon as it is written, as DuckDB's COPY and most tools do; a killed process never leaves a partial dataset either way."),
   ("MemoryLimit","long",False,"named","false","false","Memory budget of a merge that writes its parts again because their schemas differ, as New-GroupedDataset's; accepts 256MB, 1GB. Default 256MB, at least 4MB. A merge that links or copies shards needs no budget."),
   ("WhatIf","switch",False,"named","false","false","Shows what would be merged."),
   ("Confirm","switch",False,"named","false","false","Asks before merging."),
  ],
  outputs=[("Grouper.PowerShell.GroupedDatasetInfo","The merged dataset.")],
  examples=[
   ("0..3 | ForEach-Object -Parallel { New-GroupedDataset ./logs ./part-$_ -GroupBy user -WorkerIndex $_ -WorkerCount 4 }; Merge-GroupedDataset ./part-* ./by-user","Four workers on one machine, then the merge."),
   ("Merge-GroupedDataset -LiteralPath (Get-ChildItem /mnt/shared/parts -Directory).FullName -Destination /mnt/shared/by-domain -Transfer Move","Merges the parts that the cluster's workers wrote to shared storage, moving their shards."),
  ],
  related=["New-GroupedDataset","Import-GroupedDataset","about_Grouper"]),
  dict(name="Import-GroupedDataset", verb="Import", noun="GroupedDataset",
  synopsis="Indexes Parquet files that are already grouped (by Spark or DuckDB) as a grouped dataset.",
  description=["Reads the files once to check that every group is contiguous and lies in one file, then writes an index and a manifest: into the source folder (without -Destination) or into a new dataset that links (or copies) the files. Records are not rewritten. The first group that is not contiguous is named with its file; -Regroup builds a new grouped dataset from the files instead.",
   "Spark: df.repartition(n, 'user_id').sortWithinPartitions('user_id').write.parquet(out). DuckDB: COPY (SELECT *, hash(user_id) % 16 AS bucket FROM src ORDER BY bucket, user_id) TO 'out' (FORMAT parquet, PARTITION_BY (bucket))."],
  params=[
   ("Path","string",True,"0","false","true","The folder of Parquet files (or a wildcard)."),
   ("LiteralPath","string",True,"named","true (ByPropertyName)","false","The folder, taken exactly as written. Aliases: PSPath, LP."),
   ("GroupBy","string[]",True,"named","false","false","The key columns the files are grouped by (a name matches its column case aside, as New-GroupedDataset's -GroupBy does)."),
   ("Destination","string",False,"1","false","false","A new dataset; without it the index and manifest go into the source folder."),
   ("Regroup","switch",False,"named","false","false","Build a new grouped dataset from the files (needs -Destination), with -MemoryLimit as its budget; Write-Progress shows the percentage of the files read, then of the records written."),
   ("Transfer","TransferMode",False,"named","false","false","Link (default), Copy or Move the files into a new dataset: with -Destination and without -Regroup (which writes new shards); given elsewhere, an error (TransferUnused)."),
   ("MemoryLimit","long",False,"named","false","false","Memory for sorting the group entries. Default 256MB."),
   ("Force","switch",False,"named","false","false","Replace an existing dataset or manifest."),
   ("Durable","switch",False,"named","false","false","Write the new dataset through to the disk (fsync of its files and folders) before committing it, so that a power loss or a crash of the machine cannot leave a committed dataset whose files lack their data. Replacing a dataset with -Force always does this: the old dataset is deleted only once the new one is on the disk. Without -Durable a new dataset is committed as soon as it is written, as DuckDB's COPY and most tools do; a killed process never leaves a partial dataset either way."),
   ("WhatIf","switch",False,"named","false","false","Shows what would be written."),
   ("Confirm","switch",False,"named","false","false","Asks before writing."),
  ],
  outputs=[("Grouper.PowerShell.GroupedDatasetInfo","The dataset.")],
  examples=[
   ("Import-GroupedDataset ./spark-out -GroupBy user_id","Indexes Spark's output in place; Get-Group ./spark-out then works."),
   ("Import-GroupedDataset ./duck-out -GroupBy user_id -Destination ./by-user","A new dataset linking DuckDB's files."),
  ],
  related=["Merge-GroupedDataset","New-GroupedDataset","about_Grouper"]),
  dict(name="Test-GroupedDataset", verb="Test", noun="GroupedDataset",
  synopsis="Verifies a grouped dataset and reports each problem.",
  description=["Checks the manifest, that every shard and the index are there with the sizes and xxHash3 checksums the manifest records, that every shard's columns are those the manifest's schema lists, of its types (a column missing, renamed or of another type, or holding nulls the manifest says it never holds, is named with its shard: readers refuse such a shard), and that the index matches the shards: every row belongs to exactly one group, groups are contiguous and in order, each row carries its group's key, and the counts add up; and that every column chunk's minimum and maximum statistics hold its values (engines that filter by them skip row groups whose bounds exclude a matching row: rebuild such a dataset), read from the pages of shards of every compression; timestamp columns of micro- or nanoseconds whose shards were written before 2026-11-30, with bounds in milliseconds, are named as such. -Quick checks presence and sizes, and what opening the dataset refuses (the index's header, its group count against the manifest's), as every reader would.",
   "Write-Progress shows each step (files and their checksums, the shards' rows against the index, the shards' statistics against their values) and how many of its files or shards are done, a few times a second.",
   "Each problem is emitted as an object (Check, Target, Message); a sound dataset emits nothing. With -Quiet the command emits $true or $false, for scripts."],
  params=[
   ("Path","string[]",True,"0","false","true","Dataset folders; wildcards are allowed."),
   ("LiteralPath","string[]",True,"named","true (ByPropertyName)","false","Dataset folders taken exactly as written. Aliases: PSPath, LP."),
   ("Quick","switch",False,"named","false","false","Presence and sizes, and what opening the dataset refuses (the index's header and group count): no checksums, no shard reading."),
   ("Quiet","switch",False,"named","false","false","Emit $true or $false instead of the problems."),
  ],
  outputs=[("Grouper.PowerShell.DatasetProblemInfo","One per problem."), ("System.Boolean","With -Quiet.")],
  examples=[
   ("Test-GroupedDataset ./by-user","Lists every problem; nothing when the dataset is sound."),
   ("if (-not (Test-GroupedDataset ./by-user -Quiet)) { throw 'by-user is damaged' }","Stops a scheduled job on a damaged dataset."),
  ],
  related=["Get-GroupedDataset","about_Grouper"]),
]

def para(t): return f"<maml:para>{e(t)}</maml:para>"

def cmd(c):
    ps = "".join(f"""
      <command:parameter required="{str(r).lower()}" variableLength="true" globbing="{g}" pipelineInput="{pi}" position="{pos}">
        <maml:name>{n}</maml:name>
        <maml:description>{para(d)}</maml:description>
        <command:parameterValue required="{str(t!='switch').lower()}" variableLength="false">{t}</command:parameterValue>
        <dev:type><maml:name>{t}</maml:name></dev:type>
      </command:parameter>""" for n,t,r,pos,pi,g,d in c["params"])
    ex = "".join(f"""
      <command:example>
        <maml:title>-------------------------- Example {i+1} --------------------------</maml:title>
        <dev:code>PS&gt; {e(code)}</dev:code>
        <dev:remarks>{para(rem)}</dev:remarks>
      </command:example>""" for i,(code,rem) in enumerate(c["examples"]))
    outs = "".join(f"""
      <command:returnValue><dev:type><maml:name>{e(t)}</maml:name></dev:type><maml:description>{para(d)}</maml:description></command:returnValue>""" for t,d in c["outputs"])
    rel = "".join(f"<maml:navigationLink><maml:linkText>{e(r)}</maml:linkText></maml:navigationLink>" for r in c["related"])
    return f"""
  <command:command xmlns:maml="http://schemas.microsoft.com/maml/2004/10" xmlns:command="http://schemas.microsoft.com/maml/dev/command/2004/10" xmlns:dev="http://schemas.microsoft.com/maml/dev/2004/10">
    <command:details>
      <command:name>{c['name']}</command:name>
      <command:verb>{c['verb']}</command:verb>
      <command:noun>{c['noun']}</command:noun>
      <maml:description>{para(c['synopsis'])}</maml:description>
    </command:details>
    <maml:description>{''.join(para(d) for d in c['description'])}</maml:description>
    <command:parameters>{ps}
    </command:parameters>
    <command:returnValues>{outs}
    </command:returnValues>
    <command:examples>{ex}
    </command:examples>
    <command:relatedLinks>{rel}</command:relatedLinks>
  </command:command>"""

xml = '<?xml version="1.0" encoding="utf-8"?>\n<helpItems schema="maml" xmlns="http://msh">' + "".join(cmd(c) for c in CMDLETS) + "\n</helpItems>\n"
out = os.path.join(os.path.dirname(__file__), "..", "src", "Grouper.PowerShell", "en-US", "Grouper.PowerShell.dll-Help.xml")
if "--check" in sys.argv[1:]:
    same = os.path.exists(out) and open(out, encoding="utf-8").read() == xml
    print(os.path.normpath(out), "is what gen-help.py writes" if same else "differs from what gen-help.py writes: edit gen-help.py, then run it")
    sys.exit(0 if same else 1)
open(out, "w", encoding="utf-8").write(xml)
print("wrote", os.path.normpath(out))
