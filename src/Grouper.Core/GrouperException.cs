namespace Grouper;

/// <summary>What kind of failure, so hosts (the cmdlets) can pick an error category without parsing messages.</summary>
public enum GrouperErrorKind
{
    InvalidData,
    SchemaMismatch,
    MissingColumn,
    InvalidKey,
    DestinationExists,
    InvalidDataset,
    NotFound,
    InvalidArgument,
    ResourceBusy,
    /// <summary>Writing failed: a full disk, an unwritable folder.</summary>
    WriteFailed,
    /// <summary>Reading failed: a file or folder the user may not read, a link to nothing.</summary>
    ReadFailed,
}

/// <summary>A failure Grouper explains: which file, which row, what was wrong.</summary>
public class GrouperException : Exception
{
    public GrouperException(GrouperErrorKind kind, string message, string? source = null, long row = 0, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        SourceName = source;
        Row = row;
    }

    public GrouperErrorKind Kind { get; }
    /// <summary>The file (or "pipeline") the failure is about, when it is about one.</summary>
    public string? SourceName { get; }
    /// <summary>The 1-based line or row, when the failure is about one record; else 0.</summary>
    public long Row { get; }

    /// <summary>
    /// A write that failed before its commit (a full disk, a failed link or copy, a write-through the device
    /// refused), said the same way by builds, merges and imports: <paramref name="what"/> ("the dataset …") at
    /// <paramref name="path"/>, and that nothing was committed.
    /// </summary>
    internal static GrouperException WriteFailed(string what, string path, Exception inner) =>
        new(GrouperErrorKind.WriteFailed, $"Writing {what} failed: {inner.Message}. Nothing was committed.", path, inner: inner);
}
