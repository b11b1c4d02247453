using Grouper.Keys;
using Grouper.Sources;
using Grouper.Writer;

// A build in a process of its own, for the crash tests to SIGKILL at fault points (GROUPER_FAULT).
// usage: CrashHost <input.csv> <destination> <overwrite 0|1> [spill folder]
var options = new BuildOptions
{
    Key = KeySpec.FromColumns("user"),
    MemoryLimit = 4 << 20,
    Overwrite = args[2] == "1",
    RowGroupMaxRows = 2000,
    ShardTargetBytes = 256 << 10,
    SpillDirectory = args.Length > 3 ? args[3] : null,
};
using var builder = new GroupedDatasetBuilder(args[1], options);
foreach (var line in builder.Recovered) Console.Error.WriteLine("RECOVERED " + line);
using (var reader = SourceFiles.Open(args[0])) builder.AddAll(reader);
var manifest = builder.Complete();
Console.WriteLine($"DONE {manifest.RecordCount}");
