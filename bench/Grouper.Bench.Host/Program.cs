using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

// New-GroupedDataset as a pwsh user runs it: the assembled module imported into a PowerShell engine, the build
// timed from the cmdlet's invocation to its output (the session's start and the import are not: a session
// imports a module once). Prints a RESULT line as the bench's other tools do.
//   Grouper.Bench.Host --module out/Grouper/Grouper.psd1 --in FILE --out DIR [--budget-mb 256] [--key user_id] [--warm N]
//   Grouper.Bench.Host --module out/Grouper/Grouper.psd1 --read DATASET [--limit N] [--whole]   (records/s through the pipeline)
// GROUPER_BENCH_TRACE=1 adds the methods compiled, the compilation time and the processor time of the build
// (stderr); GROUPER_BENCH_JIT=1 lists every method compiled, as the bench does.
string Opt(string name, string? fallback = null)
{
    int i = Array.IndexOf(args, "--" + name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback ?? throw new ArgumentException($"--{name} is required");
}

var iss = InitialSessionState.CreateDefault2();
using var runspace = RunspaceFactory.CreateRunspace(iss);
runspace.Open();
using (var import = PowerShell.Create())
{
    import.Runspace = runspace;
    import.AddCommand("Import-Module").AddParameter("Name", Path.GetFullPath(Opt("module"))).AddParameter("ErrorAction", "Stop");
    import.Invoke();
}

// What the engine and the imported module hold before the build: a pwsh session's own share of the peak.
long engineRss = Status("VmRSS:");

if (args.Contains("--read"))
{
    // --read DS [--limit N] [--whole]: Get-Group DS | Get-GroupRecord, every record a PSObject as a pwsh pipeline takes them
    // (counted and let go), for the first N records (default 200,000): the rate a script reading a dataset sees.
    long limit = long.Parse(Opt("limit", "200000"), CultureInfo.InvariantCulture);
    using var read = PowerShell.Create();
    read.Runspace = runspace;
    // --whole: Get-GroupRecord DS alone, every group's records in one scan (no Get-Group, no binding a group).
    if (args.Contains("--whole")) read.AddCommand("Get-GroupRecord").AddParameter("LiteralPath", Path.GetFullPath(Opt("read")));
    else read.AddCommand("Get-Group").AddParameter("LiteralPath", Path.GetFullPath(Opt("read"))).AddCommand("Get-GroupRecord");
    var sink = new PSDataCollection<PSObject>();
    long seen = 0;
    double rs = 0;
    var rsw = Stopwatch.StartNew();
    sink.DataAdded += (_, _) =>
    {
        sink.Clear();
        if (++seen != limit) return;
        rs = rsw.Elapsed.TotalSeconds;
        read.BeginStop(null, null);
    };
    try { read.Invoke<PSObject, PSObject>(null, sink, null); }
    catch (PipelineStoppedException) { /* stopped at the limit */ }
    if (seen < limit) rs = rsw.Elapsed.TotalSeconds;
    seen = Math.Min(seen, limit);
    Console.WriteLine(FormattableString.Invariant($"RESULT tool=cmdlet-read wall_s={rs:F2} records={seen} records_per_s={seen / rs:F0}"));
    return 0;
}

long budget = long.Parse(Opt("budget-mb", "256"), CultureInfo.InvariantCulture) << 20;
PowerShell Build()
{
    var p = PowerShell.Create();
    p.Runspace = runspace;
    p.AddCommand("New-GroupedDataset")
        .AddParameter("LiteralPath", new[] { Path.GetFullPath(Opt("in")) })
        .AddParameter("Destination", Path.GetFullPath(Opt("out")))
        .AddParameter("GroupBy", new[] { Opt("key", "user_id") })
        .AddParameter("MemoryLimit", budget)
        .AddParameter("Force");
    return p;
}
// --warm N: builds before the measured one, in the same session (what a session's later builds take).
for (int warm = int.Parse(Opt("warm", "0"), CultureInfo.InvariantCulture); warm > 0; warm--)
    using (var w = Build()) w.Invoke();

using var ps = Build();
long jit0 = System.Runtime.JitInfo.GetCompiledMethodCount(); var jt0 = System.Runtime.JitInfo.GetCompilationTime();
var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
var sw = Stopwatch.StartNew();
using var jl = Environment.GetEnvironmentVariable("GROUPER_BENCH_JIT") == "1" ? new JitListener(sw) : null;
var output = ps.Invoke();
double wall = sw.Elapsed.TotalSeconds;
if (Environment.GetEnvironmentVariable("GROUPER_BENCH_TRACE") == "1")
    Console.Error.WriteLine($"jit={System.Runtime.JitInfo.GetCompiledMethodCount() - jit0} jitms={(System.Runtime.JitInfo.GetCompilationTime() - jt0).TotalMilliseconds:F0} cpu={(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds:F2}");
if (ps.HadErrors)
{
    foreach (var e in ps.Streams.Error) Console.Error.WriteLine(e);
    return 1;
}
var manifest = output.Single();
long records = Convert.ToInt64(manifest.Properties["RecordCount"]?.Value, CultureInfo.InvariantCulture);
long groups = Convert.ToInt64(manifest.Properties["GroupCount"]?.Value, CultureInfo.InvariantCulture);
long peak = Status("VmHWM:");
Console.WriteLine(FormattableString.Invariant($"RESULT tool=cmdlet wall_s={wall:F2} rss_peak_mb={peak} records={records} groups={groups} engine_rss_mb={engineRss}"));
return 0;

// A figure of /proc/self/status, in MB.
static long Status(string key)
{
    foreach (var line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith(key, StringComparison.Ordinal)) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    return 0;
}
