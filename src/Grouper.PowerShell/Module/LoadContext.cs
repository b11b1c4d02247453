using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace Grouper.PowerShell.Module;

/// <summary>
/// Loads Grouper.Core and its dependencies (Parquet.Net, LZ4, Sylvan, ...) from bin/deps in an
/// AssemblyLoadContext of their own, so other modules with other versions of those libraries load beside
/// Grouper without conflict. Only Grouper.Core is resolved from the default context, by name.
/// </summary>
public sealed class GrouperLoadContext : AssemblyLoadContext
{
    private static readonly string DepsDir = Path.Combine(
        Path.GetDirectoryName(typeof(GrouperLoadContext).Assembly.Location)!, "deps");

    private static GrouperLoadContext? _instance;

    private GrouperLoadContext() : base("Grouper", isCollectible: false) { }

    internal static GrouperLoadContext Instance => _instance ??= new GrouperLoadContext();

    protected override Assembly? Load(AssemblyName name)
    {
        var path = Path.Combine(DepsDir, name.Name + ".dll");
        // What deps does not carry (the framework, PowerShell) comes from the default context.
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
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
