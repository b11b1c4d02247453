using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace Grouper.PowerShell.Tests;

/// <summary>A real PowerShell engine with the assembled module imported, working in a temporary folder.</summary>
public sealed class PowerShellHost : IDisposable
{
    public static readonly string RepoRoot = FindRepoRoot();
    public static readonly string ModuleManifest = Path.Combine(RepoRoot, "out", "Grouper", "Grouper.psd1");

    private readonly Runspace _runspace;

    public PowerShellHost()
    {
        Dir = Path.Combine(Path.GetTempPath(), "grouper-ps-tests", Guid.NewGuid().ToString("N")[..8] + " [ps] dir");
        Directory.CreateDirectory(Dir);
        var iss = InitialSessionState.CreateDefault2();
        _runspace = RunspaceFactory.CreateRunspace(iss);
        _runspace.Open();
        Run($"Import-Module -Name '{ModuleManifest.Replace("'", "''")}' -ErrorAction Stop");
        _runspace.SessionStateProxy.Path.SetLocation(WildcardPattern.Escape(Dir));
    }

    /// <summary>The session's working folder (its name has spaces and brackets on purpose).</summary>
    public string Dir { get; }

    public string this[string relative] => Path.Combine(Dir, relative);

    /// <summary>Runs a script; returns output and the error records written. A terminating error throws.</summary>
    public (Collection<PSObject> Output, List<ErrorRecord> Errors) Invoke(string script, IDictionary<string, object?>? variables = null)
    {
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _runspace;
        if (variables is not null)
            foreach (var (k, v) in variables) _runspace.SessionStateProxy.SetVariable(k, v);
        ps.AddScript(script);
        var output = ps.Invoke();
        return (output, ps.Streams.Error.ToList());
    }

    /// <summary>Runs a script that must not write errors.</summary>
    public Collection<PSObject> Run(string script, IDictionary<string, object?>? variables = null)
    {
        var (output, errors) = Invoke(script, variables);
        if (errors.Count > 0) throw new InvalidOperationException("Errors: " + string.Join("; ", errors.Select(e => $"{e.FullyQualifiedErrorId}: {e}")));
        return output;
    }

    public Runspace Runspace => _runspace;

    public void Dispose()
    {
        _runspace.Dispose();
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }

    private static string FindRepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "Grouper.slnx"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (Grouper.slnx).");
    }
}
