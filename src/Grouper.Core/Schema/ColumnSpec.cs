namespace Grouper.Schema;

/// <summary>Time resolution of a timestamp or time column.</summary>
public enum TimeUnit : byte { Millis = 0, Micros = 1, Nanos = 2 }

/// <summary>One column of a dataset: its name, value type and the type details Parquet keeps.</summary>
public sealed record ColumnSpec(string Name, ValueKind Kind, bool Nullable)
{
    /// <summary>Decimal precision (digits); 0 when not a decimal.</summary>
    public int Precision { get; init; }
    /// <summary>Decimal scale; 0 when not a decimal.</summary>
    public int Scale { get; init; }
    /// <summary>Resolution of timestamp and time columns.</summary>
    public TimeUnit Unit { get; init; } = TimeUnit.Micros;
    /// <summary>Whether timestamps are instants (UTC) rather than local wall-clock times.</summary>
    public bool AdjustedToUtc { get; init; } = true;

    public override string ToString() => $"{Name}: {Kind.ToName()}{(Nullable ? "?" : "")}";
}
