using Grouper.Keys;
using Grouper.Sources;
using Grouper.Writer;

// A build in a process of its own, for the crash tests to SIGKILL at fault points (GROUPER_FAULT).
// usage: CrashHost <input.csv> <destination> <overwrite 0|1> [spill folder]
// CRASHHOST_HALVES=1: the build is written in two halves at once (a larger budget, so that both open every run).
// CRASHHOST_DURABLE=1: the dataset is written through to the disk before it is committed.
// CrashHost merge <destination> <part>...: merges the parts of a sharded build instead.
if (args[0] == "merge")
{
    try
    {
        var merged = Grouper.Format.DatasetMerger.Merge(args[2..], args[1], durable: Environment.GetEnvironmentVariable("CRASHHOST_DURABLE") == "1");
        Console.WriteLine($"DONE {merged.RecordCount}");
        return 0;
    }
    catch (Grouper.GrouperException ex)
    {
        Console.Error.WriteLine($"{ex.Kind}: {ex.Message}");
        return 1;
    }
}
bool halves = Environment.GetEnvironmentVariable("CRASHHOST_HALVES") == "1";
var options = new BuildOptions
{
    Key = KeySpec.FromColumns("user"),
    MemoryLimit = halves ? 16 << 20 : 4 << 20,
    HalvesFromBytes = halves ? 0 : long.MaxValue,
    Overwrite = args[2] == "1",
    Durable = Environment.GetEnvironmentVariable("CRASHHOST_DURABLE") == "1",
    RowGroupMaxRows = 2000,
    ShardTargetBytes = 256 << 10,
    SpillDirectory = args.Length > 3 ? args[3] : null,
};
using var builder = new GroupedDatasetBuilder(args[1], options);
foreach (var line in builder.Recovered) Console.Error.WriteLine("RECOVERED " + line);
using (var reader = SourceFiles.Open(args[0])) builder.AddAll(reader);
var manifest = builder.Complete();
Console.WriteLine($"DONE {manifest.RecordCount}{(builder.WroteInHalves ? " HALVES" : "")}");
return 0;
