using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using Grouper.Sources;

namespace Grouper.PowerShell;

/// <summary>Completes -GroupBy with the column names of the first input file (its header or schema), read as -Format, -Delimiter and -Quoting say.</summary>
public sealed class ColumnNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            var options = OptionsOf(fakeBoundParameters);
            var file = FirstInput(fakeBoundParameters, options);
            if (file is null) return [];
            var prefix = wordToComplete.Trim('\'', '"');
            return SourceFiles.ReadColumnNames(file, options)
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

    private static string? FirstInput(IDictionary bound, SourceOptions options)
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
        resolved = System.IO.Path.GetFullPath(resolved);
        if (Directory.Exists(resolved) || resolved.IndexOfAny(['*', '?']) >= 0) return SourceFiles.Expand(resolved, options).FirstOrDefault();
        return File.Exists(resolved) ? resolved : null;
    }
}
