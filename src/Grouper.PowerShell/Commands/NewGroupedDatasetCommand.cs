using System.Management.Automation;
using Grouper.Keys;
using Grouper.Sources;
using Grouper.Writer;

namespace Grouper.PowerShell.Commands;

/// <summary>Builds a grouped dataset from files or from objects on the pipeline.</summary>
[Cmdlet(VerbsCommon.New, "GroupedDataset", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(GroupedDatasetInfo))]
public sealed class NewGroupedDatasetCommand : GrouperCmdlet, IDisposable
{
    private const string PathSet = "Path", LiteralSet = "LiteralPath", ObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = LiteralSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = ObjectSet, ValueFromPipeline = true)]
    [AllowNull]
    public PSObject? InputObject { get; set; }

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = "";

    [Parameter]
    [ArgumentCompleter(typeof(ColumnNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? GroupBy { get; set; }

    [Parameter]
    [ValidateNotNull]
    public ScriptBlock? KeyScript { get; set; }

    [Parameter]
    [ValidateRange(4L << 20, long.MaxValue)]
    public long MemoryLimit { get; set; } = BuildOptions.DefaultMemoryLimit;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? NullKeyGroup { get; set; }

    [Parameter]
    public InputFormat Format { get; set; } = InputFormat.Auto;

    [Parameter]
    public SwitchParameter Force { get; set; }

    private readonly CancellationTokenSource _cts = new();
    private GroupedDatasetBuilder? _builder;
    private ObjectRecordReader? _objects;
    private PSObject? _currentObject;
    private long _objectCount;
    private string _destination = "";
    private int _failedInputs;

    protected override void BeginProcessing()
    {
        if ((GroupBy is null) == (KeyScript is null))
            ThrowTerminatingError(new ErrorRecord(new PSArgumentException("Give either -GroupBy (key columns) or -KeyScript (a script block that returns the key), not both and not neither."),
                "KeyParameterConflict", ErrorCategory.InvalidArgument, null));
        _destination = ResolveOutputPath(Destination, "DestinationNotFileSystem");
        bool exists = Directory.Exists(_destination) || File.Exists(_destination);
        if (exists && !Force)
            ThrowTerminatingError(new ErrorRecord(new IOException($"The destination '{_destination}' exists. Use -Force to replace it."),
                "DestinationExists", ErrorCategory.ResourceExists, _destination));
        if (!ShouldProcess(_destination, exists ? "Replace grouped dataset" : "Create grouped dataset")) return;

        var key = GroupBy is not null ? (KeySpec)new ColumnKeySpec(GroupBy) : KeySpec.FromFunction(RunKeyScript, "script: " + KeyScript!.ToString().Trim());
        if (NullKeyGroup is not null)
            key = GroupBy is not null
                ? new ColumnKeySpec(GroupBy) { NullPolicy = NullKeyPolicy.Group, NullGroupName = NullKeyGroup }
                : new FunctionKeySpec(RunKeyScript, "script: " + KeyScript!.ToString().Trim()) { NullPolicy = NullKeyPolicy.Group, NullGroupName = NullKeyGroup };
        try
        {
            _builder = new GroupedDatasetBuilder(_destination, new BuildOptions
            {
                Key = key,
                MemoryLimit = MemoryLimit,
                Overwrite = Force,
                Progress = new PipelineProgress(ReportProgress),
            });
        }
        catch (GrouperException ex)
        {
            ThrowTerminatingError(ToErrorRecord(ex, "BuildStart", _destination));
        }
    }

    protected override void ProcessRecord()
    {
        if (_builder is null) return; // -WhatIf, or the user declined
        switch (ParameterSetName)
        {
            case PathSet: AddFiles(ResolveInputPaths(Path, literal: false)); break;
            case LiteralSet: AddFiles(ResolveInputPaths(LiteralPath, literal: true)); break;
            default: AddObject(InputObject); break;
        }
    }

    private void AddFiles(IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            IReadOnlyList<string> files;
            try { files = SourceFiles.Expand(path); }
            catch (GrouperException ex)
            {
                _failedInputs++;
                WriteError(ToErrorRecord(ex, "InputNotFound", path));
                continue;
            }
            foreach (var file in files) AddFile(file);
        }
    }

    private void AddFile(string file)
    {
        WriteVerbose($"Reading {file}");
        try
        {
            using var reader = SourceFiles.Open(file, Format == InputFormat.Auto ? null : (SourceFormat)(Format - 1));
            _builder!.AddAll(reader, _cts.Token);
        }
        catch (GrouperException ex) when (ex.Kind == GrouperErrorKind.InvalidArgument && ex.Row == 0)
        {
            // A file whose format cannot be told: skip it, and do not commit a dataset without it.
            _failedInputs++;
            WriteError(ToErrorRecord(ex, "UnknownInputFormat", file));
        }
        catch (GrouperException ex)
        {
            // Records of this file are already in the build: a dataset without the rest would be incomplete.
            ThrowTerminatingError(ToErrorRecord(ex, "BadInput", file));
        }
    }

    private void AddObject(PSObject? obj)
    {
        if (obj is null) return;
        if (obj.BaseObject is FileSystemInfo fsi)
        {
            // Get-ChildItem output: the files themselves are the input.
            AddFiles([fsi.FullName]);
            return;
        }
        _objects ??= new ObjectRecordReader("pipeline");
        _objectCount++;
        _objects.SetCurrent(Fields(obj), _objectCount);
        _currentObject = obj;
        try { _builder!.Add(_objects); }
        catch (GrouperException ex) { ThrowTerminatingError(ToErrorRecord(ex, "BadInputObject", obj)); }
        finally { _currentObject = null; }
        if ((_objectCount & 0x3FF) == 0 && _cts.IsCancellationRequested) throw new PipelineStoppedException();
    }

    private static IEnumerable<KeyValuePair<string, object?>> Fields(PSObject obj)
    {
        if (obj.BaseObject is System.Collections.IDictionary dict)
        {
            foreach (System.Collections.DictionaryEntry e in dict)
                yield return new(e.Key.ToString() ?? "", Unwrap(e.Value));
            yield break;
        }
        foreach (var p in obj.Properties)
        {
            if (!p.IsGettable || (p.MemberType & PSMemberTypes.Properties) == 0) continue;
            object? value;
            try { value = p.Value; }
            catch (GetValueException) { continue; }
            yield return new(p.Name, Unwrap(value));
        }
    }

    private static object? Unwrap(object? v) => v is PSObject pso && pso.BaseObject is not PSCustomObject ? pso.BaseObject : v;

    private object? RunKeyScript(RecordReader reader)
    {
        var subject = _currentObject ?? ToPSObject(Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList(),
            Enumerable.Range(0, reader.FieldCount).Select(reader.GetValue).ToArray());
        var result = KeyScript!.InvokeWithContext(null, [new PSVariable("_", subject), new PSVariable("PSItem", subject)]);
        if (result.Count == 0) return null;
        if (result.Count == 1) return Unwrap(result[0]);
        return KeyText.Compose(result.Select(r => Unwrap(r) is { } v ? KeyText.Format(v) : ""));
    }

    protected override void EndProcessing()
    {
        if (_builder is null) return;
        if (_failedInputs > 0)
            ThrowTerminatingError(new ErrorRecord(new InvalidOperationException(
                $"{_failedInputs} input(s) could not be read; the dataset was not written, so that it does not silently lack them."),
                "InputsFailed", ErrorCategory.InvalidData, _destination));
        try
        {
            var manifest = _builder.Complete(_cts.Token);
            WriteProgress(new ProgressRecord(1, "New-GroupedDataset", "Done") { RecordType = ProgressRecordType.Completed });
            WriteObject(ToInfo(_destination, manifest));
        }
        catch (GrouperException ex)
        {
            ThrowTerminatingError(ToErrorRecord(ex, "BuildFailed", _destination));
        }
        catch (IOException ex)
        {
            ThrowTerminatingError(new ErrorRecord(ex, "BuildWriteFailed", ErrorCategory.WriteError, _destination));
        }
    }

    private void ReportProgress(BuildProgress p)
    {
        // Core reports on this (the pipeline) thread, at most a few times a second.
        var status = p.Phase switch
        {
            BuildPhase.Reading => $"Read {p.RecordsRead:N0} records, {p.BytesRead / 1048576.0:N1} MB; {p.SpillRuns} spill runs",
            BuildPhase.Writing => $"Wrote {p.RecordsWritten:N0} of {p.RecordsRead:N0} records in {p.GroupsWritten:N0} groups",
            _ => $"{p.Phase}: {p.RecordsRead:N0} records",
        };
        var record = new ProgressRecord(1, "New-GroupedDataset", status)
        {
            CurrentOperation = p.CurrentSource ?? (p.Phase == BuildPhase.Reading ? "pipeline input" : p.Phase.ToString()),
            PercentComplete = p.Phase == BuildPhase.Writing && p.RecordsRead > 0 ? (int)(100 * p.RecordsWritten / p.RecordsRead) : -1,
            SecondsRemaining = -1,
        };
        WriteProgress(record);
    }

    protected override void StopProcessing() => _cts.Cancel();

    public void Dispose()
    {
        _builder?.Dispose();
        _objects?.Dispose();
        _cts.Dispose();
    }

    private sealed class PipelineProgress(Action<BuildProgress> report) : IProgress<BuildProgress>
    {
        public void Report(BuildProgress value) => report(value);
    }
}
