using System.Management.Automation;
using System.Text;
using Xunit;

namespace Grouper.PowerShell.Tests;

/// <summary>The module in the real PowerShell engine: real pipelines through every cmdlet.</summary>
public sealed class ModuleTests : IDisposable
{
    private readonly PowerShellHost _ps = new();

    public void Dispose() => _ps.Dispose();

    // users u0..u6 with different sizes; ids increase in file order
    private static (string Csv, Dictionary<string, List<int>> Groups) WriteCsv(string path, int rows = 200)
    {
        var sb = new StringBuilder("user,id,city,note\n");
        var groups = new Dictionary<string, List<int>>();
        for (int i = 0; i < rows; i++)
        {
            var u = "u" + (i * i % 7);
            sb.Append($"{u},{i},{(i % 2 == 0 ? "Oslo" : "Lima")},\"n, {i}\"\n");
            if (!groups.TryGetValue(u, out var l)) groups[u] = l = new();
            l.Add(i);
        }
        File.WriteAllText(path, sb.ToString());
        return (path, groups);
    }

    /// <summary>Runs a script that must fail with exactly one error (a terminating error of a cmdlet in a script is one record).</summary>
    private ErrorRecord TheError(string script)
    {
        var (output, errors) = _ps.Invoke(script);
        Assert.Empty(output);
        return Assert.Single(errors);
    }

    private List<string> TempLeftovers() => Directory.GetFileSystemEntries(_ps.Dir, ".*grouper-tmp*", SearchOption.AllDirectories).ToList();

    [Fact]
    public void The_module_exports_its_cmdlets_with_help()
    {
        var names = _ps.Run("(Get-Module Grouper).ExportedCmdlets.Keys").Select(o => o.ToString()).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["Export-GroupReport", "Get-Group", "Get-GroupRecord", "Get-GroupedDataset", "Import-GroupedDataset", "Measure-GroupStats", "Merge-GroupedDataset", "New-GroupedDataset", "Test-GroupedDataset"], names);
        foreach (var n in names)
        {
            var examples = _ps.Run($"(Get-Help {n} -Full).examples.example").ToList();
            Assert.True(examples.Count >= 2, $"{n} has {examples.Count} examples");
            Assert.All(examples, e => Assert.False(string.IsNullOrWhiteSpace(e.Properties["code"].Value?.ToString())));
            Assert.NotEmpty(_ps.Run($"(Get-Help {n} -Full).parameters.parameter"));
            Assert.NotEmpty(_ps.Run($"(Get-Help {n} -Full).returnValues.returnValue.type.name"));
        }
        // -Preview's objects are declared and described as the dataset's are.
        Assert.Equal(["GroupedDatasetInfo", "GroupPreview"], _ps.Run("(Get-Command New-GroupedDataset).OutputType.Type.Name").Select(o => o.ToString()));
        Assert.Contains("Grouper.PowerShell.GroupPreview", _ps.Run("(Get-Help New-GroupedDataset -Full).returnValues.returnValue.type.name").Select(o => o.ToString()));
        var getGroupExamples = string.Join("\n", _ps.Run("(Get-Help Get-Group -Full).examples.example.code").Select(o => o.ToString()));
        Assert.Contains("Grouper\\Get-Group", getGroupExamples);
        var about = string.Join("\n", _ps.Run("Get-Help about_Grouper").Select(o => o.ToString()));
        Assert.Contains("THE FORMAT", about);
    }

    /// <summary>
    /// Every parameter a cmdlet has is in its help, and nothing else, with the type, whether it is required, the
    /// position and the pipeline input the cmdlet declares: the help is written by tools/gen-help.py from its own
    /// text, and a parameter added, renamed or bound differently in the code must be changed there too.
    /// </summary>
    [Fact]
    public void Each_cmdlets_help_names_its_parameters_as_the_cmdlet_declares_them()
    {
        var common = new HashSet<string>(System.Management.Automation.Cmdlet.CommonParameters, StringComparer.OrdinalIgnoreCase);
        var names = _ps.Run("(Get-Module Grouper).ExportedCmdlets.Keys").Select(o => o.ToString()!).ToList();
        var mismatches = new List<string>();
        foreach (var n in names)
        {
            var command = (CommandInfo)_ps.Run($"Get-Command {n}").Single().BaseObject;
            var declared = command.Parameters.Values.Where(p => !common.Contains(p.Name)).ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
            var help = _ps.Run($"(Get-Help {n} -Full).parameters.parameter").ToDictionary(h => h.Properties["name"].Value!.ToString()!, StringComparer.OrdinalIgnoreCase);
            foreach (var missing in declared.Keys.Except(help.Keys, StringComparer.OrdinalIgnoreCase)) mismatches.Add($"{n} -{missing}: not in the help");
            foreach (var extra in help.Keys.Except(declared.Keys, StringComparer.OrdinalIgnoreCase)) mismatches.Add($"{n} -{extra}: in the help, not in the cmdlet");
            foreach (var (name, p) in declared)
            {
                if (!help.TryGetValue(name, out var h)) continue;
                var sets = p.ParameterSets.Values.ToList();
                string Says(string property) => h.Properties[property].Value?.ToString() ?? "";
                // Required: mandatory in every parameter set the parameter is in (-Path is, in its own set).
                var required = sets.All(s => s.IsMandatory) ? "true" : "false";
                var positions = sets.Select(s => s.Position).Distinct().ToList();
                var position = positions.Count == 1 ? (positions[0] == int.MinValue ? "named" : positions[0].ToString(System.Globalization.CultureInfo.InvariantCulture)) : "several";
                bool byValue = sets.Any(s => s.ValueFromPipeline), byName = sets.Any(s => s.ValueFromPipelineByPropertyName);
                var pipeline = (byValue, byName) switch
                {
                    (true, true) => "true (ByValue, ByPropertyName)",
                    (true, false) => "true (ByValue)",
                    (false, true) => "true (ByPropertyName)",
                    _ => "false",
                };
                var type = HelpTypeName(p.ParameterType);
                var helpType = (h.Properties["type"].Value as PSObject)?.Properties["name"].Value?.ToString();
                foreach (var (what, code, text) in new[] { ("required", required, Says("required")), ("position", position, Says("position")),
                             ("pipeline input", pipeline, Says("pipelineInput")), ("type", type, helpType ?? "") })
                    if (!string.Equals(code, text, StringComparison.OrdinalIgnoreCase)) mismatches.Add($"{n} -{name}: {what} is '{code}' in the cmdlet, '{text}' in the help");
            }
        }
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    // The type names the help uses: PowerShell's short names for the common types, the .NET name for the rest.
    private static string HelpTypeName(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        if (t.IsArray) return HelpTypeName(t.GetElementType()!) + "[]";
        return t == typeof(string) ? "string" : t == typeof(int) ? "int" : t == typeof(long) ? "long" : t == typeof(double) ? "double"
            : t == typeof(SwitchParameter) ? "switch" : t == typeof(PSObject) ? "psobject" : t == typeof(ScriptBlock) ? "scriptblock" : t.Name;
    }

    [Fact]
    public void Core_and_its_dependencies_load_in_their_own_context()
    {
        _ps.Run("New-GroupedDataset -InputObject ([pscustomobject]@{ k = 'a' }) -Destination ds -GroupBy k | Out-Null");
        var core = AppDomain.CurrentDomain.GetAssemblies().Single(a => a.GetName().Name == "Grouper.Core");
        Assert.NotSame(System.Runtime.Loader.AssemblyLoadContext.Default, System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(core));
        var parquet = AppDomain.CurrentDomain.GetAssemblies().Single(a => a.GetName().Name == "Parquet");
        Assert.Equal("Grouper", System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(parquet)!.Name);
        Assert.StartsWith(Path.Combine(PowerShellHost.RepoRoot, "out", "Grouper", "bin", "deps"), parquet.Location);
        // The hosting project carries none of Core's packages: what loaded is the module's own copies.
        Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, "Parquet.dll")));
        Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, "Grouper.Core.dll")));
        // The module is assembled with ReadyToRun code for this platform (its first second is not spent in the JIT),
        // of the format this runtime reads: a runtime reads only its own major version's, and compiled all of Core and
        // Parquet.Net from IL when the module carried .NET 8's alone.
        int runtimeFormat = ReadyToRunMajorVersion(typeof(object).Assembly.Location);
        Assert.True(runtimeFormat > 0, "the runtime's own library has no ReadyToRun code to compare with");
        foreach (var file in new[] { core.Location, parquet.Location })
            Assert.Equal((file, runtimeFormat), (file, ReadyToRunMajorVersion(file)));
        Assert.Equal(Path.Combine(PowerShellHost.RepoRoot, "out", "Grouper", "bin", "deps", $"net{Environment.Version.Major}.0"), Path.GetDirectoryName(core.Location));
        // .NET 8's code stays where pwsh 7.4 finds it.
        Assert.NotEqual(runtimeFormat, ReadyToRunMajorVersion(Path.Combine(PowerShellHost.RepoRoot, "out", "Grouper", "bin", "deps", "Grouper.Core.dll")));
    }

    // The major version of a file's ReadyToRun header ("RTR", then the version), or -1 when it has no such code.
    private static int ReadyToRunMajorVersion(string file)
    {
        using var pe = new System.Reflection.PortableExecutable.PEReader(File.OpenRead(file));
        var directory = pe.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory;
        if (directory.Size < 8) return -1;
        var header = pe.GetSectionData(directory.RelativeVirtualAddress).GetContent(0, 8);
        return BitConverter.ToUInt32([.. header], 0) == 0x00525452 ? BitConverter.ToUInt16([.. header], 4) : -1;
    }

    [Fact]
    public void Builds_from_a_relative_wildcard_path_and_reads_every_group_back()
    {
        var (_, expected) = WriteCsv(_ps["people.csv"]);
        var info = _ps.Run("New-GroupedDataset -Path ./peo*.csv -Destination out -GroupBy user").Single();
        Assert.Equal(Path.Combine(_ps.Dir, "out"), info.Properties["Path"].Value);
        Assert.Equal((long)expected.Count, info.Properties["GroupCount"].Value);
        Assert.Equal(200L, info.Properties["RecordCount"].Value);

        var groups = _ps.Run("Get-Group out");
        Assert.Equal(expected.Keys.OrderBy(k => k, StringComparer.Ordinal), groups.Select(g => (string)g.Properties["Key"].Value));
        foreach (var g in groups)
        {
            var key = (string)g.Properties["Key"].Value;
            Assert.Equal((long)expected[key].Count, g.Properties["RecordCount"].Value);
        }
        var records = _ps.Run("Get-Group out | Get-GroupRecord");
        Assert.Equal(200, records.Count);
        var byUser = records.GroupBy(r => (string)r.Properties["user"].Value).ToDictionary(g => g.Key, g => g.Select(r => int.Parse((string)r.Properties["id"].Value)).ToList());
        foreach (var (k, ids) in expected) Assert.Equal(ids, byUser[k]);
        Assert.Equal("n, 3", records.First(r => (string)r.Properties["id"].Value == "3").Properties["note"].Value);
        Assert.Empty(TempLeftovers());
    }

    [Fact]
    public void Pipeline_objects_keep_their_types_and_group_by_two_columns()
    {
        var output = _ps.Run("""
            $rows = foreach ($i in 1..60) { [pscustomobject]@{ city = @('Oslo','Lima','Pune')[$i % 3]; kind = @('a','b')[$i % 2]; n = $i; price = [decimal]$i / 4; when = [datetime]::SpecifyKind([datetime]'2024-01-01', 'Utc').AddDays($i); even = $i % 2 -eq 0; seen = [datetime]::SpecifyKind([datetime]'2024-06-01 12:00', 'Local').AddHours($i) } }
            $rows | New-GroupedDataset -Destination 'by city' -GroupBy City, KIND
            """);
        Assert.Equal(6L, output.Single().Properties["GroupCount"].Value);
        // Key columns named as PowerShell matches properties, case aside; recorded as the objects spell them.
        Assert.Equal(["city", "kind"], (string[])output.Single().Properties["KeyColumns"].Value);
        var keys = _ps.Run("Get-Group -LiteralPath 'by city'").Select(g => (string)g.Properties["Key"].Value).ToList();
        Assert.Equal(["Lima|a", "Lima|b", "Oslo|a", "Oslo|b", "Pune|a", "Pune|b"], keys);
        var recs = _ps.Run("Get-GroupRecord -LiteralPath 'by city' -Key 'Oslo|b'");
        Assert.Equal([3, 9, 15, 21, 27, 33, 39, 45, 51, 57], recs.Select(r => (int)r.Properties["n"].Value));
        Assert.IsType<decimal>(recs[0].Properties["price"].Value);
        Assert.Equal(0.75m, recs[0].Properties["price"].Value);
        Assert.Equal(new DateTime(2024, 1, 4, 0, 0, 0, DateTimeKind.Utc), recs[0].Properties["when"].Value);
        Assert.All(recs, r => Assert.False((bool)r.Properties["even"].Value));
        var evens = _ps.Run("Get-GroupRecord -LiteralPath 'by city' -Key 'Oslo|a'");
        Assert.Equal(10, evens.Count);
        Assert.All(evens, r => Assert.True((bool)r.Properties["even"].Value));
        // Local time (Get-Date's kind) is kept as the instant it is: in UTC, whatever this machine's time zone.
        var seen = (DateTime)recs[0].Properties["seen"].Value;
        Assert.Equal((new DateTime(2024, 6, 1, 15, 0, 0, DateTimeKind.Local).ToUniversalTime(), DateTimeKind.Utc), (seen, seen.Kind));
    }

    [Fact]
    public void Hashtables_give_their_columns_in_key_order_and_nested_values_their_json_text()
    {
        // A hashtable's own order follows string hashes that change from process to process (the same input
        // gave its columns in a different order each time); nested values were "System.Object[]" and "@{...}".
        _ps.Run("""
            @{ k = 'a'; gamma = 3; alpha = 1; beta = [ordered]@{ z = 1; y = @(1, 'two') } },
            @{ k = 'b'; gamma = 4; alpha = 2; beta = $null; tags = @('x', 'y'); o = [pscustomobject]@{ p = 1; q = @{ s = 2; r = 1 } } } |
                New-GroupedDataset -Destination ht -GroupBy k | Out-Null
            """);
        var names = _ps.Run("(Get-GroupedDataset ht).Manifest.Schema | ForEach-Object { $_.Name }").Select(o => o.ToString()).ToList();
        // An object with a Path binds -Path by its name, as Get-Item's does (it was the text "@{Path=ht}").
        Assert.EndsWith("ht", (string)_ps.Run("[pscustomobject]@{ Path = 'h?' } | Get-GroupedDataset").Single().Properties["Path"].Value);
        Assert.Equal(["alpha", "beta", "gamma", "k", "o", "tags"], names);
        var a = _ps.Run("Get-GroupRecord -LiteralPath ht -Key a").Single();
        Assert.Equal("{\"z\":1,\"y\":[1,\"two\"]}", a.Properties["beta"].Value);
        var b = _ps.Run("Get-GroupRecord -LiteralPath ht -Key b").Single();
        Assert.Equal("[\"x\",\"y\"]", b.Properties["tags"].Value);
        Assert.Equal("{\"p\":1,\"q\":{\"r\":1,\"s\":2}}", b.Properties["o"].Value);
        Assert.Null(b.Properties["beta"].Value);
    }

    [Fact]
    public void Records_are_objects_of_a_class_for_their_columns_and_pipe_into_a_new_build()
    {
        File.WriteAllText(_ps["odd [cols].csv"], "user,first name,x[0],n\nu1,Ann,a,1\nu1,Bob,b,2\nu2,Cy,c,3\n");
        _ps.Run("New-GroupedDataset -LiteralPath 'odd [cols].csv' -Destination 'by user' -GroupBy user | Out-Null");
        var recs = _ps.Run("Get-Group -LiteralPath 'by user' | Get-GroupRecord");
        Assert.Equal(3, recs.Count);
        // One class for the dataset, derived from GroupRecord, its properties the columns in their order.
        Assert.Equal("True", _ps.Run("$r = @(Get-Group -LiteralPath 'by user' | Get-GroupRecord); ($r[0] -is [Grouper.PowerShell.GroupRecord]) -and ($r[0].GetType() -eq $r[2].GetType())").Single().ToString());
        Assert.All(recs, r => Assert.Equal(["user", "first name", "x[0]", "n"], r.Properties.Select(p => p.Name)));
        Assert.Equal(["Ann", "Bob", "Cy"], recs.Select(r => (string)r.Properties["first name"].Value));
        Assert.Equal(["a", "b", "c"], _ps.Run("Get-Group -LiteralPath 'by user' | Get-GroupRecord | ForEach-Object { $_.'x[0]' }").Select(o => o.ToString()));
        Assert.Equal("42", _ps.Run("$r = Get-GroupRecord -LiteralPath 'by user' -Key u2; $r.n = 42; $r.n").Single().ToString());
        // In a string, as a PSCustomObject reads.
        Assert.Equal("@{user=u1; first name=Ann; x[0]=a; n=1}", _ps.Run("$r = @(Get-GroupRecord -LiteralPath 'by user' -Key u1)[0]; \"$r\"").Single().ToString());
        // -Property: a class of the columns chosen.
        var some = _ps.Run("Get-GroupRecord -LiteralPath 'by user' -Key u1 -Property n, 'first name'");
        Assert.All(some, r => Assert.Equal(["n", "first name"], r.Properties.Select(p => p.Name)));
        // Named as PowerShell names properties (case aside), and each once: the columns' own names.
        Assert.All(_ps.Run("Get-GroupRecord -LiteralPath 'by user' -Key u1 -Property N, 'First Name', n"), r => Assert.Equal(["n", "first name"], r.Properties.Select(p => p.Name)));

        // Records are pipeline objects for a new build: regrouped by another column, nothing lost.
        var info = _ps.Run("Get-Group -LiteralPath 'by user' | Get-GroupRecord | New-GroupedDataset -Destination 'by name' -GroupBy 'first name'").Single();
        Assert.Equal(3L, info.Properties["GroupCount"].Value);
        var bob = _ps.Run("Get-GroupRecord -LiteralPath 'by name' -Key Bob").Single();
        Assert.Equal(["user", "first name", "x[0]", "n"], bob.Properties.Select(p => p.Name));
        Assert.Equal(("u1", "b", "2"), ((string)bob.Properties["user"].Value, (string)bob.Properties["x[0]"].Value, bob.Properties["n"].Value.ToString()));
    }

    [Fact]
    public void Without_keys_every_groups_records_stream_in_storage_order_as_through_their_groups()
    {
        WriteCsv(_ps["people.csv"]);
        _ps.Run("New-GroupedDataset people.csv 'all [groups]' -GroupBy user | Out-Null");
        string Ids(string script) => string.Join(",", _ps.Run(script).Select(r => r.Properties["id"].Value.ToString()));
        var perGroup = Ids("Get-Group -LiteralPath 'all [groups]' | Get-GroupRecord");
        Assert.Equal(200, perGroup.Split(',').Distinct().Count());
        Assert.Equal(perGroup, Ids("Get-GroupRecord -LiteralPath 'all [groups]'"));
        Assert.Equal(perGroup, Ids("Get-GroupRecord 'all `[groups`]'"));
        // The same columns and the same sides of each group's split as through the groups.
        foreach (var split in new[] { "-TestFraction 0.3", "-TestFraction 0.3 -Side Test", "-TestFraction 0.4 -RandomSplit -SplitSeed 3 -Side Test" })
        {
            var through = Ids($"Get-Group -LiteralPath 'all [groups]' | Get-GroupRecord -Property id {split}");
            Assert.NotEqual(perGroup, through);
            Assert.Equal(through, Ids($"Get-GroupRecord -LiteralPath 'all [groups]' -Property id {split}"));
        }
        Assert.All(_ps.Run("Get-GroupRecord -LiteralPath 'all [groups]' -Property id, city"), r => Assert.Equal(["id", "city"], r.Properties.Select(p => p.Name)));
        // Keys piped or named still pick groups.
        Assert.Equal(Ids("Get-Group -LiteralPath 'all [groups]' -Key u2 | Get-GroupRecord"), Ids("'u2' | Get-GroupRecord -LiteralPath 'all [groups]'"));
        // A dataset from Get-GroupedDataset is read whole, not taken as a key by its text; two are read one after the other.
        Assert.Equal(perGroup, Ids("Get-GroupedDataset -LiteralPath 'all [groups]' | Get-GroupRecord"));
        Assert.Equal(Ids("Get-Group -LiteralPath 'all [groups]' -Key u2 | Get-GroupRecord"), Ids("Get-GroupedDataset -LiteralPath 'all [groups]' | Get-GroupRecord -Key u2"));
        Assert.Equal(Ids("Get-GroupRecord -LiteralPath 'all [groups]' -Property id -TestFraction 0.3"),
            Ids("Get-GroupedDataset -LiteralPath 'all [groups]' | Get-GroupRecord -Property id -TestFraction 0.3"));
        _ps.Run("New-GroupedDataset people.csv 'by city' -GroupBy city | Out-Null");
        var both = Ids("Get-GroupedDataset -LiteralPath 'all [groups]', 'by city' | Get-GroupRecord");
        Assert.Equal(perGroup + "," + Ids("Get-GroupRecord -LiteralPath 'by city'"), both);
        string Keys(string script) => string.Join(",", _ps.Run(script).Select(g => (string)g.Properties["Key"].Value));
        Assert.Equal(Keys("Get-Group -LiteralPath 'all [groups]'"), Keys("Get-GroupedDataset -LiteralPath 'all [groups]' | Get-Group"));
        Assert.Equal("u0,u1", Keys("Get-GroupedDataset -LiteralPath 'all [groups]' | Get-Group -First 2"));
        Assert.Equal("Lima,Oslo,u0", Keys("Get-GroupedDataset -LiteralPath 'by city', 'all [groups]' | Get-Group -First 3"));
        // So is anything else with a PSPath (a folder from Get-Item), not taken as a key by its text.
        const string folder = "[pscustomobject]@{ PSPath = 'Microsoft.PowerShell.Core\\FileSystem::' + [System.IO.Path]::Combine($PWD.ProviderPath, 'all [groups]') }";
        Assert.Equal(perGroup, Ids($"{folder} | Get-GroupRecord"));
        Assert.Equal(Keys("Get-Group -LiteralPath 'all [groups]'"), Keys($"{folder} | Get-Group"));
        var bad = TheError("Get-Group -LiteralPath 'all [groups]' -Key ([pscustomobject]@{ a = 1 })");
        Assert.Equal(ErrorCategory.InvalidArgument, bad.CategoryInfo.Category);
        Assert.Contains("GroupKey", bad.ToString());
    }

    [Fact]
    public void Keys_of_other_types_find_groups_by_the_text_a_build_gives_them()
    {
        // A key column of numbers, dates or booleans is keyed by its values' canonical text (ISO dates,
        // invariant numbers); the same values given as keys find their groups, whatever the session's culture.
        foreach (var column in new[] { "n", "x", "day", "ok" })
            _ps.Run("1..6 | ForEach-Object { [pscustomobject]@{ n = $_ % 3; x = $_ / 4; day = [datetime]::new(2024, 1, 1 + $_ % 2); ok = ($_ % 2 -eq 0); id = $_ } }" +
                $" | New-GroupedDataset -Destination 'by {column}' -GroupBy {column} | Out-Null");
        string Ids(string script) => string.Join(",", _ps.Run(script).Select(r => r.Properties["id"].Value.ToString()));
        Assert.Equal("3,6", Ids("0 | Get-GroupRecord -LiteralPath 'by n'"));
        Assert.Equal("1,4", Ids("Get-GroupRecord -LiteralPath 'by n' -Key 1"));
        Assert.Equal("2,4,6", Ids("[datetime]::new(2024, 1, 1) | Get-GroupRecord -LiteralPath 'by day'"));
        Assert.Equal("2024-01-01T00:00:00.0000000", _ps.Run("Get-Group -LiteralPath 'by day' -First 1").Single().Properties["Key"].Value);
        Assert.Equal("6", Ids("1.5 | Get-GroupRecord -LiteralPath 'by x'"));
        Assert.Equal("2,4,6", Ids("$true | Get-GroupRecord -LiteralPath 'by ok'"));
        Assert.Equal(["1", "0.25"], _ps.Run("1, 0.25 | Get-Group -LiteralPath 'by x'").Select(g => (string)g.Properties["Key"].Value));
    }

    [Fact]
    public void A_column_named_as_a_member_powershell_reserves_is_read_and_names_equal_but_for_case_are_told_apart()
    {
        // A note property named PSObject is refused: such a dataset could not be read before the record classes.
        File.WriteAllText(_ps["reserved.csv"], "user,PSObject,n\nu1,x,1\n");
        _ps.Run("New-GroupedDataset reserved.csv reserved -GroupBy user | Out-Null");
        var (output, errors) = _ps.Invoke("$r = Get-GroupRecord reserved -Key u1; $r.PSObject.Properties['PSObject'].Value; $r.n");
        Assert.Empty(errors);
        Assert.Equal(["x", "1"], output.Select(o => o.ToString()));
        // Two columns equal but for case are one member name to PowerShell (a PSCustomObject kept the later
        // value under the first name, silently): the later one gets a number, and a warning says so.
        File.WriteAllText(_ps["cased.csv"], "user,a,A,A_2\nu1,1,2,3\n");
        _ps.Run("New-GroupedDataset cased.csv cased -GroupBy user | Out-Null");
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _ps.Runspace;
        var r = ps.AddScript("Get-GroupRecord cased -Key u1").Invoke().Single();
        Assert.Equal(["user=u1", "a=1", "A_3=2", "A_2=3"], r.Properties.Select(p => $"{p.Name}={p.Value}"));
        Assert.Contains("'A' as 'A_3'", Assert.Single(ps.Streams.Warning).Message);
    }

    [Fact]
    public void A_folder_that_holds_the_destination_is_built_again_without_the_dataset_s_own_files()
    {
        Directory.CreateDirectory(_ps["in [put]"]);
        WriteCsv(_ps["in [put]/people.csv"]);
        _ps.Run("New-GroupedDataset -LiteralPath 'in [put]' -Destination 'in [put]/grouped' -GroupBy user | Out-Null");
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _ps.Runspace;
        // Rebuilt with -Force: the folder now holds the dataset's shards and manifest too, which are not input.
        var info = ps.AddScript("New-GroupedDataset -LiteralPath 'in [put]' -Destination 'in [put]/grouped' -GroupBy city -Force").Invoke().Single();
        Assert.False(ps.HadErrors);
        Assert.Equal(200L, info.Properties["RecordCount"].Value);
        Assert.Equal(2L, info.Properties["GroupCount"].Value);
        var warning = Assert.Single(ps.Streams.Warning).Message;
        Assert.Contains("Skipped 1 file of", warning); // its shard (its manifest is no input anywhere)
        Assert.Contains("inside the destination", warning);
        // The dataset's folder as input: its shards, grouped again by another column.
        Assert.Equal(4L, _ps.Run("(New-GroupedDataset -LiteralPath 'in [put]/grouped' -Destination regrouped -GroupBy user).GroupCount").Single().BaseObject); // u0, u1, u2, u4: squares mod 7
        // The same from Get-GroupedDataset's output (it was one record of the info object's properties).
        var piped = _ps.Run("Get-GroupedDataset -LiteralPath 'in [put]/grouped' | New-GroupedDataset -Destination 'regrouped 2' -GroupBy user").Single();
        Assert.Equal((4L, 200L), ((long)piped.Properties["GroupCount"].Value, (long)piped.Properties["RecordCount"].Value));
    }

    [Fact]
    public void Inputs_that_resolve_to_nothing_never_replace_a_dataset()
    {
        WriteCsv(_ps["people.csv"]);
        _ps.Run("New-GroupedDataset people.csv out -GroupBy user | Out-Null");
        void Refused(string script, string id)
        {
            var (output, errors) = _ps.Invoke(script);
            Assert.Empty(output);
            Assert.Equal(id + ",Grouper.PowerShell.Commands.NewGroupedDatasetCommand", errors[^1].FullyQualifiedErrorId);
            // The dataset is as it was, and no work folder is left.
            Assert.Equal(4L, _ps.Run("(Get-GroupedDataset out).GroupCount").Single().BaseObject);
            Assert.Empty(TempLeftovers());
        }
        // A typo, a pattern that matches nothing, one missing file among others: each was built without it (an empty
        // dataset replacing the old one with -Force).
        Refused("New-GroupedDataset peopel.csv out -GroupBy user -Force", "InputsFailed");
        Refused("New-GroupedDataset 'nomatch*.csv' out -GroupBy user -Force", "InputsFailed");
        Refused("New-GroupedDataset -LiteralPath people.csv, 'missing [1].csv' -Destination out -GroupBy user -Force", "InputsFailed");
        Assert.Contains("missing [1].csv", _ps.Invoke("New-GroupedDataset -LiteralPath people.csv, 'missing [1].csv' -Destination out -GroupBy user -Force").Errors[0].Exception.Message);
        // A dataset grouped into itself: every input file is the dataset's own.
        Refused("New-GroupedDataset out out -GroupBy city -Force", "InputsFailed");
        Assert.Equal("InputInsideDestination,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", _ps.Invoke("New-GroupedDataset out out -GroupBy city -Force").Errors[0].FullyQualifiedErrorId);
        // Nothing down the pipeline.
        Refused("@() | New-GroupedDataset -Destination out -GroupBy user -Force", "NoInput");
        Refused("[System.IO.FileInfo[]]@() | New-GroupedDataset -Destination out -GroupBy user -Force", "NoInput");
        // A file of no records still builds an empty dataset.
        File.WriteAllText(_ps["header.csv"], "user,n\n");
        Assert.Equal(0L, _ps.Run("(New-GroupedDataset header.csv empty -GroupBy user).RecordCount").Single().BaseObject);
    }

    [Fact]
    public void A_key_script_sees_each_record()
    {
        var (_, users) = WriteCsv(_ps["people.csv"]);
        // A file's record is the kind Get-GroupRecord writes (Run fails on the script's error otherwise).
        _ps.Run("New-GroupedDataset people.csv typed -KeyScript { if ($_ -isnot [Grouper.PowerShell.GroupRecord]) { throw 'not a record' }; $_.user } | Out-Null");
        Assert.Equal(users.Count, _ps.Run("Get-Group typed").Count);
        _ps.Run("New-GroupedDataset people.csv bycity -KeyScript { $_.city.ToUpper() + '-' + ([int]$_.id % 2) }");
        var keys = _ps.Run("Get-Group bycity").Select(g => (string)g.Properties["Key"].Value).ToList();
        Assert.Equal(["LIMA-1", "OSLO-0"], keys);
        Assert.Equal("function", _ps.Run("(Get-GroupedDataset bycity).Manifest.Key.Kind").Single().ToString());

        // One array is the parts of a composite key, as the values written one by one are (it was one group,
        // "System.Object[]"); a hashtable or an object is no key.
        _ps.Run("New-GroupedDataset people.csv pairs -KeyScript { ,@($_.city, ([int]$_.id % 2)) } | Out-Null");
        _ps.Run("New-GroupedDataset people.csv pairs2 -KeyScript { $_.city; [int]$_.id % 2 } | Out-Null");
        var pairs = _ps.Run("Get-Group pairs").Select(g => (string)g.Properties["Key"].Value).ToList();
        Assert.Equal(["Lima|1", "Oslo|0"], pairs);
        Assert.Equal(pairs, _ps.Run("Get-Group pairs2").Select(g => (string)g.Properties["Key"].Value));
        // A piped record the key cannot be made of is the error's target.
        var bad = TheError("[pscustomobject]@{ user = 'a' }, [pscustomobject]@{ user = '' } | New-GroupedDataset -Destination bad -GroupBy user");
        Assert.Equal("BadInputObject.InvalidKey,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", bad.FullyQualifiedErrorId);
        Assert.Equal("", ((System.Management.Automation.PSObject)bad.TargetObject).Properties["user"].Value);
        foreach (var script in new[] { "@{ a = $_.user }", "[pscustomobject]@{ a = $_.user }" })
        {
            var err = TheError($"New-GroupedDataset people.csv bad -KeyScript {{ {script} }}");
            Assert.Equal(ErrorCategory.InvalidData, err.CategoryInfo.Category);
            Assert.Contains("hashtable or an object", err.Exception.Message);
            Assert.Contains("people.csv, line 2", err.Exception.Message);
        }
        Assert.False(Directory.Exists(_ps["bad"]));
    }

    [Fact]
    public void Files_from_the_pipeline_and_literal_paths_with_brackets()
    {
        Directory.CreateDirectory(_ps["in [1]"]);
        WriteCsv(_ps["in [1]/a b.csv"], 50);
        WriteCsv(_ps["in [1]/c.csv"], 30);
        var info = _ps.Run("[System.IO.DirectoryInfo]::new([System.IO.Path]::Combine($PWD.ProviderPath, 'in [1]')).GetFiles('*.csv') | New-GroupedDataset -Destination 'out [x]' -GroupBy user").Single();
        Assert.Equal(80L, info.Properties["RecordCount"].Value);
        Assert.Equal(2, ((string[])info.Properties["Sources"].Value).Length);
        info = _ps.Run("New-GroupedDataset -LiteralPath 'in [1]/a b.csv' -Destination 'lit [y]' -GroupBy user").Single();
        Assert.Equal(50L, info.Properties["RecordCount"].Value);
        // Resolve-Path's PathInfo, and an object with a PSPath, are paths to read (each was one record of its properties).
        info = _ps.Run("$ExecutionContext.SessionState.Path.GetResolvedPSPathFromPSPath([System.Management.Automation.WildcardPattern]::Escape('in [1]/c.csv')) | New-GroupedDataset -Destination 'resolved' -GroupBy user").Single();
        Assert.Equal(30L, info.Properties["RecordCount"].Value);
        info = _ps.Run("[pscustomobject]@{ PSPath = 'in [1]/a b.csv' } | New-GroupedDataset -Destination 'by pspath' -GroupBy user").Single();
        Assert.Equal(50L, info.Properties["RecordCount"].Value);
        // A folder reads every file inside.
        info = _ps.Run("New-GroupedDataset -LiteralPath 'in [1]' -Destination folder -GroupBy user").Single();
        Assert.Equal(80L, info.Properties["RecordCount"].Value);
        Assert.Equal(80L, _ps.Run("Get-GroupedDataset -LiteralPath 'out [x]'").Single().Properties["RecordCount"].Value);
        // Datasets pipe into the other cmdlets by their PSPath.
        Assert.Equal(80L, _ps.Run("Get-GroupedDataset -LiteralPath 'out [x]' | Measure-GroupStats").Single().Properties["RecordCount"].Value);
    }

    [Fact]
    public void An_Excel_Unicode_text_export_groups_by_its_non_ASCII_keys()
    {
        // Excel's "Unicode text" is UTF-16 with a byte order mark, tab-separated, CRLF.
        File.WriteAllText(_ps["export [1].tsv"], "city\tn\r\nZürich\t1\r\n東京\t2\r\nZürich\t3\r\n", new UnicodeEncoding(bigEndian: false, byteOrderMark: true));
        var info = _ps.Run("New-GroupedDataset -LiteralPath 'export [1].tsv' -Destination out -GroupBy city").Single();
        Assert.Equal(3L, info.Properties["RecordCount"].Value);
        Assert.Equal(2L, info.Properties["GroupCount"].Value);
        var zurich = _ps.Run("'Zürich' | Get-Group out").Single();
        Assert.Equal(2L, zurich.Properties["RecordCount"].Value);
    }

    [Fact]
    public void A_missing_key_column_is_an_error_naming_the_file_and_nothing_is_written()
    {
        WriteCsv(_ps["people.csv"]);
        var err = TheError("New-GroupedDataset people.csv out -GroupBy nope");
        Assert.Equal("BadInput.MissingColumn,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", err.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, err.CategoryInfo.Category);
        Assert.Contains("people.csv", err.Exception.Message);
        Assert.Contains("'nope'", err.Exception.Message);
        Assert.False(Directory.Exists(_ps["out"]));
        Assert.Empty(TempLeftovers());
    }

    [Fact]
    public void A_malformed_file_names_file_and_line()
    {
        File.WriteAllText(_ps["bad.csv"], "user,id\nu1,1\nu2,2,extra\n");
        var err = TheError("New-GroupedDataset bad.csv out -GroupBy user");
        Assert.Equal("BadInput.InvalidData,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", err.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidData, err.CategoryInfo.Category);
        Assert.Contains("bad.csv, line 3", err.Exception.Message);
        Assert.Equal(_ps["bad.csv"], err.TargetObject);
        Assert.False(Directory.Exists(_ps["out"]));
        Assert.Empty(TempLeftovers());
    }

    [Fact]
    public void An_existing_destination_needs_Force_and_WhatIf_writes_nothing()
    {
        WriteCsv(_ps["people.csv"]);
        _ps.Run("New-GroupedDataset people.csv out -GroupBy user | Out-Null");
        var err = TheError("New-GroupedDataset people.csv out -GroupBy city");
        Assert.Equal("DestinationExists,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", err.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ResourceExists, err.CategoryInfo.Category);
        Assert.Equal(4L, _ps.Run("(Get-GroupedDataset out).GroupCount").Single().BaseObject);

        _ps.Run("New-GroupedDataset people.csv out -GroupBy city -Force -WhatIf");
        Assert.Equal(4L, _ps.Run("(Get-GroupedDataset out).GroupCount").Single().BaseObject);
        _ps.Run("New-GroupedDataset people.csv new -GroupBy city -WhatIf");
        Assert.False(Directory.Exists(_ps["new"]));

        _ps.Run("New-GroupedDataset people.csv out -GroupBy city -Force | Out-Null");
        Assert.Equal(2L, _ps.Run("(Get-GroupedDataset out).GroupCount").Single().BaseObject);
        Assert.Empty(TempLeftovers());
        Assert.Empty(Directory.GetDirectories(_ps.Dir, ".*"));

        // The destination as tab completion writes an existing folder: with a trailing separator, the same folder.
        var slashed = "out" + Path.DirectorySeparatorChar;
        Assert.Equal("DestinationExists,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", TheError($"New-GroupedDataset people.csv {slashed} -GroupBy user").FullyQualifiedErrorId);
        Assert.Equal(_ps["out"], _ps.Run($"(New-GroupedDataset people.csv {slashed} -GroupBy user -Force).Path").Single().ToString());
        Assert.Equal(4L, _ps.Run("(Get-GroupedDataset out).GroupCount").Single().BaseObject);
        _ps.Run($"New-GroupedDataset people.csv new{Path.DirectorySeparatorChar} -GroupBy city | Out-Null");
        Assert.Equal(2L, _ps.Run("(Get-GroupedDataset new).GroupCount").Single().BaseObject);
        Assert.Empty(TempLeftovers());
        Assert.Empty(Directory.GetDirectories(_ps.Dir, ".*"));
        Assert.Empty(Directory.GetFileSystemEntries(_ps["out"], ".*"));
    }

    [Fact]
    public void Bad_parameter_combinations_and_other_providers_are_refused()
    {
        WriteCsv(_ps["people.csv"]);
        var e1 = TheError("New-GroupedDataset people.csv out");
        Assert.Equal("KeyParameterConflict,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", e1.FullyQualifiedErrorId);
        var e2 = TheError("New-GroupedDataset people.csv Variable:/x -GroupBy user");
        Assert.Equal("DestinationNotFileSystem,Grouper.PowerShell.Commands.NewGroupedDatasetCommand", e2.FullyQualifiedErrorId);
        var (_, errors) = _ps.Invoke("Get-GroupedDataset -Path Env:/PATH");
        Assert.Equal("NotFileSystemPath,Grouper.PowerShell.Commands.GetGroupedDatasetCommand", Assert.Single(errors).FullyQualifiedErrorId);
        (_, errors) = _ps.Invoke("Get-GroupedDataset -Path nothing-here");
        Assert.Equal("PathNotFound,Grouper.PowerShell.Commands.GetGroupedDatasetCommand", Assert.Single(errors).FullyQualifiedErrorId);
        // A file is there, but a file is not a dataset (as a folder without a manifest is not).
        (_, errors) = _ps.Invoke("Get-GroupedDataset -LiteralPath people.csv");
        Assert.Equal("OpenDataset.InvalidDataset,Grouper.PowerShell.Commands.GetGroupedDatasetCommand", Assert.Single(errors).FullyQualifiedErrorId);
        Assert.Contains("people.csv is a file; a dataset is the folder", errors[0].ToString());
    }

    [Fact]
    public void Get_Group_by_key_first_and_missing_keys()
    {
        WriteCsv(_ps["people.csv"]);
        _ps.Run("New-GroupedDataset people.csv out -GroupBy user | Out-Null");
        Assert.Equal(["u0", "u1"], _ps.Run("Get-Group out -First 2").Select(g => (string)g.Properties["Key"].Value));
        var (output, errors) = _ps.Invoke("'u4', 'zz', 'u2' | Get-Group out");
        Assert.Equal(["u4", "u2"], output.Select(g => (string)g.Properties["Key"].Value));
        var err = Assert.Single(errors);
        Assert.Equal("GroupNotFound,Grouper.PowerShell.Commands.GetGroupCommand", err.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, err.CategoryInfo.Category);
        Assert.Equal("zz", err.TargetObject);
        Assert.Equal(Path.Combine(_ps.Dir, "out"), output[0].Properties["DatasetPath"].Value);
        // A null key (a missing value piped in) is an error, not every group.
        (output, errors) = _ps.Invoke("$null, 'u4' | Get-Group out");
        Assert.Equal(["u4"], output.Select(g => (string)g.Properties["Key"].Value));
        Assert.Equal("NullKey,Grouper.PowerShell.Commands.GetGroupCommand", Assert.Single(errors).FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, errors[0].CategoryInfo.Category);
        Assert.Equal("NullKey,Grouper.PowerShell.Commands.GetGroupRecordCommand", TheError("$null | Get-GroupRecord out").FullyQualifiedErrorId);
    }

    [Fact]
    public void Measure_GroupStats_from_a_path_and_from_the_pipeline()
    {
        var (_, expected) = WriteCsv(_ps["people.csv"]);
        _ps.Run("New-GroupedDataset people.csv out -GroupBy user | Out-Null");
        var s = _ps.Run("Measure-GroupStats out").Single();
        var sizes = expected.Values.Select(v => (long)v.Count).Order().ToList();
        Assert.Equal((long)sizes.Count, s.Properties["GroupCount"].Value);
        Assert.Equal(200L, s.Properties["RecordCount"].Value);
        Assert.Equal(sizes.Min(), s.Properties["MinRecords"].Value);
        Assert.Equal(sizes.Max(), s.Properties["MaxRecords"].Value);
        Assert.Equal(200.0 / sizes.Count, (double)s.Properties["MeanRecords"].Value, 9);
        Assert.Equal((double)sizes[sizes.Count / 2], s.Properties["MedianRecords"].Value);
        var piped = _ps.Run("Get-Group out | Where-Object RecordCount -gt 20 | Measure-GroupStats").Single();
        Assert.Equal((long)sizes.Count(x => x > 20), piped.Properties["GroupCount"].Value);
    }

    [Fact]
    public void Progress_is_reported_while_building()
    {
        var sb = new StringBuilder("k,v\n");
        for (int i = 0; i < 400_000; i++) sb.Append("k").Append(i % 1000).Append(',').Append(i).Append('\n');
        File.WriteAllText(_ps["big.csv"], sb.ToString());
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _ps.Runspace;
        ps.AddScript("New-GroupedDataset big.csv out -GroupBy k -MemoryLimit 8MB");
        ps.Invoke();
        Assert.Empty(ps.Streams.Error);
        var progress = ps.Streams.Progress.ToList();
        Assert.NotEmpty(progress);
        Assert.All(progress, p => Assert.Equal("New-GroupedDataset", p.Activity));
        Assert.Contains(progress, p => p.StatusDescription.Contains("records"));
        Assert.Contains(progress, p => p.RecordType == ProgressRecordType.Completed);
        Assert.True(progress.Count < 200, $"progress is on a timer, not per record ({progress.Count} records)");
    }

    [Fact]
    public void Progress_while_reading_says_how_much_of_the_input_is_read()
    {
        var sb = new StringBuilder("k,v\n");
        for (int i = 0; i < 100_000; i++) sb.Append("k").Append(i % 1000).Append(',').Append(i).Append('\n');
        Directory.CreateDirectory(_ps["in [p]"]);
        for (int f = 0; f < 3; f++) File.WriteAllText(_ps[$"in [p]/part {f}.csv"], sb.ToString());
        double megabytes = 3 * new FileInfo(_ps["in [p]/part 0.csv"]).Length / 1048576.0;

        List<ProgressRecord> Reading(string script)
        {
            using var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = _ps.Runspace;
            ps.AddScript(script);
            ps.Invoke();
            Assert.Empty(ps.Streams.Error);
            return ps.Streams.Progress.Where(p => p.StatusDescription.StartsWith("Read ", StringComparison.Ordinal)).ToList();
        }
        static void Forward(List<ProgressRecord> reading)
        {
            Assert.NotEmpty(reading);
            Assert.All(reading, p => Assert.InRange(p.PercentComplete, 0, 100));
            for (int i = 1; i < reading.Count; i++) Assert.True(reading[i].PercentComplete >= reading[i - 1].PercentComplete, "the percentage went back");
        }

        // Files named at once: a percentage of all of them, and the megabytes of how many.
        var named = Reading("New-GroupedDataset -LiteralPath 'in [p]' -Destination 'all [p]' -GroupBy k | Out-Null");
        Forward(named);
        Assert.All(named, p => Assert.Contains($" of {megabytes:N1} MB", p.StatusDescription));
        // Files one by one down the pipeline: the total is not known, so each file's own percentage.
        var piped = Reading("[System.IO.DirectoryInfo]::new([System.IO.Path]::Combine($PWD.ProviderPath, 'in [p]')).GetFiles('*.csv') | New-GroupedDataset -Destination 'piped [p]' -GroupBy k | Out-Null");
        Assert.NotEmpty(piped);
        Assert.All(piped, p => Assert.DoesNotContain(" of ", p.StatusDescription));
        Assert.All(piped, p => Assert.InRange(p.PercentComplete, -1, 100));
        // Objects from the pipeline: nothing to measure against.
        var objects = Reading("1..20000 | ForEach-Object { [pscustomobject]@{ k = $_ % 10 } } | New-GroupedDataset -Destination 'objects [p]' -GroupBy k | Out-Null");
        Assert.All(objects, p => Assert.Equal(-1, p.PercentComplete));
        // A regroup reads Parquet files as a build does, and says so.
        var regroup = Reading("Import-GroupedDataset -LiteralPath 'all [p]' -GroupBy k -Destination 'regrouped [p]' -Regroup | Out-Null");
        Forward(regroup);
        Assert.All(regroup, p => Assert.Equal("Import-GroupedDataset", p.Activity));
    }

    [Fact]
    public void Stopping_a_running_build_leaves_nothing_behind()
    {
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _ps.Runspace;
        ps.AddScript("1..50000000 | ForEach-Object { [pscustomobject]@{ k = $_ % 100; v = 'x' * 50 } } | New-GroupedDataset -Destination stopped -GroupBy k -MemoryLimit 8MB");
        var async = ps.BeginInvoke();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!Directory.EnumerateFileSystemEntries(_ps.Dir, ".*grouper-tmp*").Any() && DateTime.UtcNow < deadline) Thread.Sleep(50);
        Thread.Sleep(1500);
        Assert.False(async.IsCompleted);
        ps.Stop();
        Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
        Assert.False(Directory.Exists(_ps["stopped"]));
        Assert.Empty(TempLeftovers());
    }

    [Fact]
    public void GroupBy_completes_column_names_from_the_input_header()
    {
        WriteCsv(_ps["people.csv"]);
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _ps.Runspace;
        var line = "New-GroupedDataset -Path ./people.csv -Destination x -GroupBy ";
        var all = CommandCompletion.CompleteInput(line, line.Length, null, ps).CompletionMatches.Select(m => m.CompletionText).ToList();
        Assert.True(all.Count == 4, "completions: " + string.Join(" | ", all));
        Assert.Equal(["user", "id", "city", "note"], all);
        line = "New-GroupedDataset -Path ./people.csv -Destination x -GroupBy ci";
        Assert.Equal(["city"], CommandCompletion.CompleteInput(line, line.Length, null, ps).CompletionMatches.Select(m => m.CompletionText));
    }

    [Fact]
    public void Dataset_cmdlets_complete_column_names_from_the_manifest()
    {
        WriteCsv(_ps["people.csv"]);
        _ps.Run("New-GroupedDataset -LiteralPath people.csv -Destination 'by [city] x' -GroupBy city | Out-Null");
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _ps.Runspace;
        List<string> Complete(string line) => CommandCompletion.CompleteInput(line, line.Length, null, ps).CompletionMatches.Select(m => m.CompletionText).ToList();
        Assert.Equal(["user", "id", "city", "note"], Complete("Measure-GroupStats -LiteralPath 'by [city] x' -LabelColumn "));
        Assert.Equal(["city"], Complete("Measure-GroupStats -LiteralPath 'by [city] x' -TextColumn c"));
        Assert.Equal(["note"], Complete("Get-GroupRecord -LiteralPath 'by [city] x' -Property n"));
        Assert.Equal(["user"], Complete("Export-GroupReport -LiteralPath 'by [city] x' -Destination r.html -LabelColumn u"));
        // -Path resolves its pattern; a folder that is no dataset completes nothing.
        Assert.Equal(["id"], Complete("Get-GroupRecord -Path 'by ?city? ?' -Property i"));
        Assert.Empty(Complete("Measure-GroupStats -LiteralPath . -LabelColumn "));
    }
}
