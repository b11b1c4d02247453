using System.Management.Automation;
using System.Management.Automation.Language;
using Xunit;

namespace Grouper.PowerShell.Tests;

/// <summary>
/// Keeps the Pester suite honest where Pester cannot run: every *.Tests.ps1 must parse, and every
/// Grouper command it calls, with every parameter it passes, must exist in the module.
/// </summary>
public sealed class PesterSuiteTests : IDisposable
{
    private readonly PowerShellHost _ps = new();

    public void Dispose() => _ps.Dispose();

    public static TheoryData<string> Suites()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(PowerShellHost.RepoRoot, "tests", "Pester"), "*.Tests.ps1")) data.Add(Path.GetFileName(f));
        return data;
    }

    [Fact]
    public void There_is_a_Pester_suite() => Assert.NotEmpty(Suites());

    private Dictionary<string, CmdletInfo> Cmdlets() =>
        _ps.Run("(Get-Module Grouper).ExportedCmdlets.Values").Select(o => (CmdletInfo)o.BaseObject)
            .ToDictionary(c => c.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>Parse errors, unknown Grouper commands and unknown parameters in a script; and how many Grouper calls it checked.</summary>
    internal static (List<string> Problems, int Calls) Check(string path, IReadOnlyDictionary<string, CmdletInfo> cmdlets)
    {
        var problems = new List<string>();
        var file = Path.GetFileName(path);
        var ast = Parser.ParseFile(path, out _, out var errors);
        problems.AddRange(errors.Select(e => $"{file}:{e.Extent.StartLineNumber}: {e.Message}"));
        int calls = 0;
        foreach (CommandAst call in ast.FindAll(a => a is CommandAst, searchNestedScriptBlocks: true))
        {
            var name = call.GetCommandName();
            if (name is null) continue;
            bool qualified = name.StartsWith("Grouper\\", StringComparison.OrdinalIgnoreCase);
            var bare = qualified ? name[8..] : name;
            bool looksLikeOurs = qualified || bare.Contains('-') && bare.Contains("Group", StringComparison.OrdinalIgnoreCase)
                && !bare.Equals("Group-Object", StringComparison.OrdinalIgnoreCase);
            if (!looksLikeOurs) continue;
            calls++;
            if (!cmdlets.TryGetValue(bare, out var cmdlet))
            {
                problems.Add($"{file}:{call.Extent.StartLineNumber}: '{name}' is not a command of the Grouper module.");
                continue;
            }
            foreach (var p in call.CommandElements.OfType<CommandParameterAst>())
            {
                var matches = cmdlet.Parameters.Values.Where(m =>
                    m.Name.StartsWith(p.ParameterName, StringComparison.OrdinalIgnoreCase) ||
                    m.Aliases.Any(a => a.Equals(p.ParameterName, StringComparison.OrdinalIgnoreCase))).ToList();
                if (matches.Count != 1 && !matches.Any(m => m.Name.Equals(p.ParameterName, StringComparison.OrdinalIgnoreCase)))
                    problems.Add($"{file}:{p.Extent.StartLineNumber}: {bare} has no parameter -{p.ParameterName}.");
            }
        }
        return (problems, calls);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void The_suite_parses_and_uses_only_real_commands_and_parameters(string file)
    {
        var (problems, calls) = Check(Path.Combine(PowerShellHost.RepoRoot, "tests", "Pester", file), Cmdlets());
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.True(calls >= 10, $"only {calls} Grouper calls found in {file}");
    }

    [Fact]
    public void The_check_catches_wrong_commands_parameters_and_syntax()
    {
        var bad = Path.Combine(_ps.Dir, "bad.Tests.ps1");
        File.WriteAllText(bad, "Describe 'x' {\n It 'y' { New-GroupedDataset -Path a -Destination b -GroupByy c }\n It 'z' { Get-GroupThing -Path a }\n It 'w' { Get-Group -P a }\n}\n");
        var (problems, calls) = Check(bad, Cmdlets());
        Assert.Equal(3, calls);
        Assert.Contains(problems, p => p.Contains("-GroupByy"));
        Assert.Contains(problems, p => p.Contains("'Get-GroupThing'"));
        Assert.Contains(problems, p => p.Contains("-P.")); // ambiguous: -Path and -PipelineVariable
        Assert.Equal(3, problems.Count);
        File.WriteAllText(bad, "Describe 'x' { It 'y' { New-GroupedDataset -Path ( }");
        Assert.NotEmpty(Check(bad, Cmdlets()).Problems);
    }
}
