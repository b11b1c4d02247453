using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using Grouper.Format;
using Grouper.Sources;

namespace Grouper.PowerShell;

/// <summary>Completes -GroupBy with the column names of the first input file (its header or schema), read as -Format, -Delimiter and -Quoting say.</summary>
public sealed class ColumnNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Complete(wordToComplete, () =>
        {
            var options = OptionsOf(fakeBoundParameters);
            return FirstInput(fakeBoundParameters, options) is { } file ? SourceFiles.ReadColumnNames(file, options) : [];
        });

    /// <summary>The names among <paramref name="names"/> that start with what was typed, quoted where PowerShell needs it.</summary>
    internal static IEnumerable<CompletionResult> Complete(string wordToComplete, Func<IEnumerable<string>> names)
    {
        try
        {
            var prefix = wordToComplete.Trim('\'', '"');
            return names()
                .Where(n => n.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                .Select(n => new CompletionResult(NeedsQuotes(n) ? $"'{n.Replace("'", "''")}'" : n, n, CompletionResultType.ParameterValue, n))
                .ToList();
        }
        catch (Exception)
        {
            if (Environment.GetEnvironmentVariable("GROUPER_DEBUG_COMPLETION") == "1") throw;
            return []; // completion must never throw at the user
        }
    }

    private static bool NeedsQuotes(string n) => n.Any(c => char.IsWhiteSpace(c) || "'\"`$,;(){}[]|&@#<>".Contains(c));

    /// <summary>The reading options already on the command line (a semicolon CSV's header is one column without -Delimiter).</summary>
    private static SourceOptions OptionsOf(IDictionary bound)
    {
        SourceFormat? format = Enum.TryParse<InputFormat>(bound["Format"]?.ToString(), true, out var f) && f != InputFormat.Auto ? (SourceFormat)(f - 1) : null;
        char? delimiter = bound["Delimiter"]?.ToString() is { Length: 1 } d ? d[0] : null;
        var quoting = Enum.TryParse<InputQuoting>(bound["Quoting"]?.ToString(), true, out var q) ? (CsvQuoting)q : CsvQuoting.Standard;
        return new SourceOptions { Format = format, Delimiter = delimiter, Quoting = quoting };
    }

    private static string? FirstInput(IDictionary bound, SourceOptions options) => FirstPath(bound) is { } path
        ? Directory.Exists(path) || path.IndexOfAny(['*', '?']) >= 0 ? SourceFiles.Expand(path, options).FirstOrDefault() : File.Exists(path) ? path : null
        : null;

    /// <summary>The first of -Path (resolved) or -LiteralPath as a file-system path, against the session's location.</summary>
    internal static string? FirstPath(IDictionary bound)
    {
        bool literal = bound.Contains("LiteralPath");
        var value = bound["Path"] ?? bound["LiteralPath"];
        var first = value switch
        {
            string s => s,
            IEnumerable e => e.Cast<object>().FirstOrDefault()?.ToString(),
            _ => null,
        };
        if (string.IsNullOrEmpty(first)) return null;
        // Resolve against the session's location; completion runs inside a pipeline, so ask through a nested one.
        string resolved = first;
        if (Runspace.DefaultRunspace is not null)
        {
            using var ps = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
            ps.AddScript("param($p, $literal) if ($literal) { $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($p) } " +
                         "else { @($ExecutionContext.SessionState.Path.GetResolvedProviderPathFromPSPath($p, [ref]$null))[0] }")
              .AddArgument(first).AddArgument(literal);
            resolved = ps.Invoke().FirstOrDefault()?.ToString() ?? first;
        }
        return System.IO.Path.GetFullPath(resolved);
    }
}

/// <summary>
/// Completes a column of a dataset (-LabelColumn, -TextColumn, -Property) with the names its manifest declares: the
/// dataset named by -Path or -LiteralPath, read without opening its shards or index.
/// </summary>
public sealed class DatasetColumnCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        ColumnNameCompleter.Complete(wordToComplete, () =>
            ColumnNameCompleter.FirstPath(fakeBoundParameters) is { } folder && File.Exists(System.IO.Path.Combine(folder, DatasetManifest.FileName))
                ? DatasetManifest.Parse(File.ReadAllBytes(System.IO.Path.Combine(folder, DatasetManifest.FileName)), folder).Schema.Select(c => c.Name)
                : []);
}
