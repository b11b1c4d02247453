#!/usr/bin/env python3
"""Writes src/Grouper.PowerShell/en-US/Grouper.PowerShell.dll-Help.xml (MAML) from the text below.
Run after changing a cmdlet's parameters or help; the build copies the XML into the module."""
from xml.sax.saxutils import escape as e
import os

CMDLETS = [
 dict(name="New-GroupedDataset", verb="New", noun="GroupedDataset",
  synopsis="Builds a grouped dataset from files or from objects on the pipeline.",
  description=["Reads CSV/TSV, JSON Lines or Parquet files (a file, a folder, a wildcard; .gz for text formats), or objects from the pipeline, gives every record a group key (one or more columns with -GroupBy, or a script block with -KeyScript), and writes a grouped dataset: Parquet shards in which each group's records are contiguous and in input order, an index for finding a group by key, and a manifest.",
   "Memory stays under -MemoryLimit (default 256MB) whatever the size of the input or of the largest group: records are sorted in memory up to half the budget, spilled as LZ4-compressed runs and merged.",
   "The dataset is written into a temporary folder beside the destination and moved into place only when complete and verified. An existing destination is left alone unless -Force is given. Ctrl+C stops the build and removes what it wrote. A record that cannot be read (malformed line, missing key column, schema mismatch) stops the build with an error that names the file and line; nothing is written.",
   "Files piped from Get-ChildItem are read as input files. The key of a record grouped by several columns is the columns' canonical texts joined by '|' (with '\\' and '|' escaped); see about_Grouper."],
  params=[
   ("Path","string[]",True,"0","false","true","Input files, folders or wildcard patterns (CSV, TSV, JSON Lines, Parquet; text formats may be .gz). Folders are read recursively, in ordinal order of the file paths."),
   ("LiteralPath","string[]",True,"named","true (ByPropertyName)","false","Input paths taken exactly as written (no wildcards). Aliases: PSPath, LP."),
   ("InputObject","psobject",True,"named","true (ByValue)","false","Objects whose properties are the record's fields (for example from Import-Csv or ConvertFrom-Json). Property values keep their .NET types."),
   ("Destination","string",True,"1","false","false","The folder of the new dataset. It must not exist unless -Force is given."),
   ("GroupBy","string[]",False,"named","false","false","Key columns. Tab completion offers the columns of the first input file."),
   ("KeyScript","scriptblock",False,"named","false","false","A script block that returns the key of the record in $_ (a PSObject). Several outputs are joined like a composite key."),
   ("MemoryLimit","long",False,"named","false","false","Memory budget of the build in bytes; accepts 256MB, 1GB. Default 256MB, at least 4MB."),
   ("NullKeyGroup","string",False,"named","false","false","Put records whose key is null or empty in a group of this name, instead of stopping with an error."),
   ("Format","InputFormat",False,"named","false","false","Auto (by extension, the default), Csv, Tsv, JsonLines or Parquet."),
   ("Force","switch",False,"named","false","false","Replace an existing dataset at -Destination. The old dataset stays until the new one is complete."),
   ("WhatIf","switch",False,"named","false","false","Shows what would be built without writing anything."),
   ("Confirm","switch",False,"named","false","false","Asks before building."),
  ],
  outputs=[("Grouper.PowerShell.GroupedDatasetInfo","The new dataset: path, key, group and record counts, columns, shards.")],
  examples=[
   ("New-GroupedDataset -Path ./samples/debian-packages.csv -Destination ./by-maintainer -GroupBy maintainer","Groups Debian packages by maintainer; each maintainer's packages are stored together."),
   ("Get-ChildItem ./logs/*.jsonl.gz | New-GroupedDataset -Destination ./by-user -GroupBy user_id -MemoryLimit 1GB -Force","Groups many compressed JSON Lines files by user with a 1 GB budget, replacing an earlier dataset."),
   ("Import-Csv ./flights.csv | New-GroupedDataset -Destination ./by-route -GroupBy origin, dest","Streams objects from Import-Csv and groups them by the pair (origin, dest); keys look like 'JFK|LAX'."),
   ("New-GroupedDataset ./c4/*.parquet ./by-domain -KeyScript { ([uri]$_.url).Host }","Groups web pages by the host name of their URL with a key script."),
  ],
  related=["Get-GroupedDataset","Get-Group","about_Grouper"]),
 dict(name="Get-GroupedDataset", verb="Get", noun="GroupedDataset",
  synopsis="Opens grouped datasets and shows their manifests.",
  description=["Reads and validates the manifest of each dataset folder (format version, files present with the sizes recorded) and emits an object describing it. The full manifest is in the Manifest property."],
  params=[
   ("Path","string[]",True,"0","true (ByValue)","true","Dataset folders; wildcards are allowed."),
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
   ("LiteralPath","string[]",True,"named","true (ByPropertyName)","false","The dataset folder taken exactly as written. Aliases: PSPath, LP."),
   ("Key","string[]",False,"1","true (ByValue)","false","Keys of the groups to get. A key that is not in the dataset is reported as an error and the others are still returned."),
   ("First","int",False,"named","false","false","Emit at most this many groups."),
  ],
  outputs=[("Grouper.PowerShell.GroupEntry","Key, RecordCount, ByteCount, Ordinal, Shard, RowOffset, DatasetPath.")],
  examples=[
   ("Grouper\\Get-Group ./by-maintainer -First 5","The first five groups in storage order (module-qualified, for sessions that also load Exchange)."),
   ("'Debian Perl Group <pkg-perl-maintainers@lists.alioth.debian.org>' | Get-Group ./by-maintainer","Finds one group by key from the pipeline."),
   ("Get-Group ./by-maintainer | Where-Object RecordCount -ge 100","Groups with at least 100 records."),
  ],
  related=["Get-GroupRecord","Measure-GroupStats","about_Grouper"]),
 dict(name="Get-GroupRecord", verb="Get", noun="GroupRecord",
  synopsis="Streams the records of groups as objects.",
  description=["Takes groups from the pipeline (from Get-Group) or a dataset and keys, and emits each group's records in input order as objects with one property per column, in their native types (strings, numbers, booleans, DateTime, decimal, byte[]). Records are read one row group at a time, so a group larger than memory streams."],
  params=[
   ("Group","GroupEntry[]",True,"named","true (ByValue)","false","Groups from Get-Group."),
   ("Path","string[]",True,"0","false","true","The dataset folder; wildcards are allowed."),
   ("LiteralPath","string[]",True,"named","true (ByPropertyName)","false","The dataset folder taken exactly as written. Aliases: PSPath, LP."),
   ("Key","string[]",True,"1","true (ByValue)","false","Keys of the groups whose records to emit."),
  ],
  outputs=[("System.Management.Automation.PSObject","One object per record.")],
  examples=[
   ("Get-Group ./by-maintainer -First 2 | Get-GroupRecord","The records of the first two groups."),
   ("Get-GroupRecord ./by-maintainer -Key 'Debian Games Team <pkg-games-devel@lists.alioth.debian.org>' | Export-Csv games.csv","Exports one group's records."),
  ],
  related=["Get-Group","about_Grouper"]),
 dict(name="Measure-GroupStats", verb="Measure", noun="GroupStats",
  synopsis="Measures group counts and the distribution of group sizes.",
  description=["From a dataset's index (no records are read) or from groups on the pipeline: the number of groups, records and bytes, and the smallest, largest, mean and median group size in records with the 90th and 99th percentiles (nearest rank)."],
  params=[
   ("Path","string[]",True,"0","false","true","Dataset folders; wildcards are allowed."),
   ("LiteralPath","string[]",True,"named","true (ByPropertyName)","false","Dataset folders taken exactly as written. Aliases: PSPath, LP."),
   ("InputObject","GroupEntry[]",True,"named","true (ByValue)","false","Groups from Get-Group, for statistics of a selection."),
  ],
  outputs=[("Grouper.PowerShell.GroupStats","GroupCount, RecordCount, ByteCount, MinRecords, MaxRecords, MeanRecords, MedianRecords, P90Records, P99Records.")],
  examples=[
   ("Measure-GroupStats ./by-maintainer","Size distribution of all groups."),
   ("Get-Group ./by-maintainer | Where-Object RecordCount -gt 1 | Measure-GroupStats","Statistics of the groups with more than one record."),
  ],
  related=["Get-Group","about_Grouper"]),
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
open(out, "w", encoding="utf-8").write(xml)
print("wrote", os.path.normpath(out))
