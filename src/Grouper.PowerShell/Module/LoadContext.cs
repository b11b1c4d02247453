using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace Grouper.PowerShell.Module;

/// <summary>
/// Loads Grouper.Core and its dependencies (Parquet.Net, LZ4, Snappier, ...) from bin/deps in an
/// AssemblyLoadContext of their own, so other modules with other versions of those libraries load beside
/// Grouper without conflict. Only Grouper.Core is resolved from the default context, by name.
/// </summary>
public sealed class GrouperLoadContext : AssemblyLoadContext
{
    private static readonly string DepsDir = ChooseDeps(Path.Combine(
        Path.GetDirectoryName(typeof(GrouperLoadContext).Assembly.Location)!, "deps"));

    /// <summary>
    /// bin/deps/net{major}.0 when the module carries the runtime's own ReadyToRun code there, else bin/deps (.NET 8's):
    /// a runtime reads only code compiled for its major version and compiles the rest from IL, which took pwsh 7.6
    /// (.NET 10) 951 methods instead of 195 in a 100 MB build.
    /// </summary>
    private static string ChooseDeps(string deps)
    {
        var own = Path.Combine(deps, $"net{Environment.Version.Major}.0");
        return File.Exists(Path.Combine(own, "Grouper.Core.dll")) ? own : deps;
    }

    // One context for the process, however many runspaces import the module at once (xUnit runs test
    // classes in parallel, and a pwsh host may open runspaces on several threads): two would each load a
    // Grouper.Core, and the cmdlets would bind to one and get objects from the other.
    private static readonly Lazy<GrouperLoadContext> _instance = new(() => new GrouperLoadContext(), LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly object _gate = new();

    private GrouperLoadContext() : base("Grouper", isCollectible: false) { }

    internal static GrouperLoadContext Instance => _instance.Value;

    protected override Assembly? Load(AssemblyName name)
    {
        var path = Path.Combine(DepsDir, name.Name + ".dll");
        // What deps does not carry (the framework, PowerShell) comes from the default context.
        if (!File.Exists(path)) return null;
        lock (_gate)
        {
            // Two threads may ask for the same assembly at once: the second gets the first one's.
            foreach (var loaded in Assemblies)
                if (string.Equals(loaded.GetName().Name, name.Name, StringComparison.OrdinalIgnoreCase)) return loaded;
            return LoadFromAssemblyPath(path);
        }
    }

    internal static Assembly? ResolveCore(AssemblyLoadContext context, AssemblyName name) =>
        name.Name == "Grouper.Core" ? Instance.LoadFromAssemblyName(name) : null;
}

/// <summary>Hooks the load context in when the module is imported, and out when it is removed.</summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport() => AssemblyLoadContext.Default.Resolving += GrouperLoadContext.ResolveCore;
    public void OnRemove(PSModuleInfo module) => AssemblyLoadContext.Default.Resolving -= GrouperLoadContext.ResolveCore;
}
