using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

// A small PowerShell host for machines without pwsh: it embeds the PowerShell engine (the
// System.Management.Automation package), imports the Grouper module from out/Grouper and runs a script.
//   grouper-host <script.ps1> [args...]      run a script file
//   grouper-host -Command "<script text>"    run a command
// Output objects are printed as lists (one object) or tables (several of a kind); errors go to stderr
// and make the exit code 1. Only the engine's core cmdlets are there (no Select-Object, Out-String...).
if (args.Length == 0 || args[0] is "-h" or "--help" or "-?")
{
    Console.Error.WriteLine("usage: grouper-host <script.ps1> [args...] | grouper-host -Command \"<script>\"");
    return 2;
}

var module = FindModule();
var iss = InitialSessionState.CreateDefault2();
using var runspace = RunspaceFactory.CreateRunspace(iss);
runspace.Open();
runspace.SessionStateProxy.Path.SetLocation(WildcardPattern.Escape(Environment.CurrentDirectory));
using var ps = PowerShell.Create();
ps.Runspace = runspace;
ps.AddCommand("Import-Module").AddParameter("Name", module).AddParameter("ErrorAction", "Stop");
ps.Invoke();
ps.Commands.Clear();

if (args[0] is "-Command" or "-c") ps.AddScript(string.Join(' ', args.Skip(1)));
else
{
    ps.AddScript(File.ReadAllText(args[0]));
    foreach (var a in args.Skip(1)) ps.AddArgument(a);
}
Console.CancelKeyPress += (_, e) => { e.Cancel = true; ps.BeginStop(null, null); };

var output = new PSDataCollection<PSObject>();
var pending = new List<PSObject>();
output.DataAdded += (_, e) =>
{
    var o = output[e.Index];
    if (o is null)
    {
        // $null in the output (a record's empty value): shown as pwsh shows it, as an empty line.
        Flush();
        Console.WriteLine();
        return;
    }
    if (pending.Count > 0 && TypeOf(pending[0]) != TypeOf(o)) Flush();
    pending.Add(o);
};
ps.Streams.Error.DataAdded += (_, e) =>
{
    Flush();
    var err = ps.Streams.Error[e.Index];
    Console.Error.WriteLine($"error: {err} [{err.FullyQualifiedErrorId}]");
};
ps.Streams.Warning.DataAdded += (_, e) => Console.Error.WriteLine("warning: " + ps.Streams.Warning[e.Index]);
try
{
    ps.Invoke(null, output);
}
catch (RuntimeException ex)
{
    Flush();
    Console.Error.WriteLine($"error: {ex.Message} [{ex.ErrorRecord.FullyQualifiedErrorId}]");
    return 1;
}
Flush();
return ps.HadErrors ? 1 : 0;

void Flush()
{
    if (pending.Count == 0) return;
    if (pending.Count == 1 || pending[0].BaseObject is string or ValueType) foreach (var o in pending) PrintList(o);
    else PrintTable(pending);
    pending.Clear();
}

static string TypeOf(PSObject o) => o.TypeNames.Count > 0 ? o.TypeNames[0] : "";

static string Text(object? v) => v switch
{
    null => "",
    PSObject p when p.BaseObject is not PSCustomObject => Text(p.BaseObject),
    string s => s,
    IFormattable f => f.ToString(null, CultureInfo.CurrentCulture),
    IEnumerable e => string.Join(", ", e.Cast<object?>().Select(Text)),
    _ => v.ToString() ?? "",
};

static IEnumerable<PSPropertyInfo> Shown(PSObject o) =>
    o.Properties.Where(p => p.IsGettable && p.Name is not ("Manifest" or "PSPath")).Take(12);

static void PrintList(PSObject o)
{
    if (o.BaseObject is string or ValueType) { Console.WriteLine(Text(o.BaseObject)); return; }
    var props = Shown(o).ToList();
    int width = props.Count == 0 ? 0 : props.Max(p => p.Name.Length);
    Console.WriteLine();
    foreach (var p in props) Console.WriteLine($"{p.Name.PadRight(width)} : {Text(SafeValue(p))}");
    Console.WriteLine();
}

static void PrintTable(List<PSObject> rows)
{
    var names = Shown(rows[0]).Take(6).Select(p => p.Name).ToList();
    var cells = rows.Select(r => names.Select(n => Trunc(Text(r.Properties[n] is { } p ? SafeValue(p) : null), 60)).ToList()).ToList();
    var widths = names.Select((n, i) => Math.Max(n.Length, cells.Max(c => c[i].Length))).ToList();
    Console.WriteLine();
    Console.WriteLine(string.Join(" ", names.Select((n, i) => n.PadRight(widths[i]))));
    Console.WriteLine(string.Join(" ", widths.Select(w => new string('-', w))));
    foreach (var c in cells) Console.WriteLine(string.Join(" ", c.Select((v, i) => v.PadRight(widths[i]))).TrimEnd());
    Console.WriteLine();
}

static string Trunc(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";

static object? SafeValue(PSPropertyInfo p)
{
    try { return p.Value; } catch (GetValueException) { return null; }
}

static string FindModule()
{
    var env = Environment.GetEnvironmentVariable("GROUPER_MODULE");
    if (!string.IsNullOrEmpty(env)) return env;
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
    {
        var candidate = Path.Combine(d.FullName, "out", "Grouper", "Grouper.psd1");
        if (File.Exists(candidate)) return candidate;
    }
    throw new FileNotFoundException("Cannot find out/Grouper/Grouper.psd1; build the module (dotnet build src/Grouper.PowerShell) or set GROUPER_MODULE.");
}
