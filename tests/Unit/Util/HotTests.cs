using System.Reflection;
using Grouper.Format;
using Grouper.Util;
using Grouper.Writer;
using Xunit;

namespace Grouper.Tests;

/// <summary>The loops a build compiles ahead at the writing phase's start are found, and only marked ones.</summary>
public class HotTests
{
    [Fact]
    public void The_writing_phase_loops_are_found_to_compile_ahead_and_nothing_unmarked_with_them()
    {
        var marked = Hot.Marked(typeof(ShardWriter), typeof(ByteArrayChunk), typeof(FixedWidthChunk), typeof(BooleanChunk), typeof(DecimalChunk),
            typeof(MergeStream), typeof(RunReader)).ToList();
        var names = marked.Select(m => $"{m.DeclaringType!.Name}.{m.Name}").ToHashSet();
        foreach (var loop in new[] { "ShardWriter.WriteAll", "ShardWriter.DecodeRow", "MergeStream.MoveNext", "RunReader.MoveNext",
                     "ByteArrayChunk.AppendBytes", "ByteArrayChunk.AppendCoded", "ByteArrayChunk.AppendKey",
                     "FixedWidthChunk.AppendScalar", "BooleanChunk.AppendScalar", "DecimalChunk.AppendScalar" })
            Assert.Contains(loop, names);
        Assert.DoesNotContain("ShardWriter.FlushRowGroup", names);
        Assert.DoesNotContain("MergeStream.Dispose", names);
        Assert.DoesNotContain("FixedWidthChunk.Encode", names);
        Assert.All(marked, m => Assert.True((m.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) != 0, m.Name));
    }

    [Fact]
    public void The_record_loop_a_parquet_build_compiles_while_its_first_row_group_is_decoded_is_found_and_marked()
    {
        var loop = GroupedDatasetBuilder.RecordLoop<RowCodec.ParquetText>();
        Assert.Equal(["AddAllOwn", "EncodeOwn", "Add", "TryEncodeFixed"], loop.Select(m => m.Name));
        // Text sources have no typed values of their own: nothing more to compile.
        Assert.Equal(["AddAllOwn", "EncodeOwn", "Add"], GroupedDatasetBuilder.RecordLoop<RowCodec.CsvText>().Select(m => m.Name));
        Assert.All(loop, m => Assert.True((m.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) != 0, m.Name));
        Assert.All(loop, m => Assert.False(m.ContainsGenericParameters, m.Name));
    }
    [Fact]
    public void A_text_sources_record_loop_is_compiled_beside_its_first_records_callees_on_a_worker_and_only_the_loop_is_left_to_its_call()
    {
        foreach (var beside in new[] { GroupedDatasetBuilder.LoopBeside<RowCodec.CsvText>(), GroupedDatasetBuilder.LoopBeside<RowCodec.JsonText>() })
        {
            Assert.Equal(["RowCodec.EncodeOwn", "SortBuffer.Add", "ExternalSorter.Add"], beside.Select(m => $"{m.DeclaringType!.Name}.{m.Name}"));
            Assert.All(beside, m => Assert.True((m.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) != 0, m.Name));
            Assert.All(beside, m => Assert.False(m.ContainsGenericParameters, m.Name));
        }
        // AddAll only dispatches, and is left to its ReadyToRun code; the loops it calls are marked.
        var builder = typeof(GroupedDatasetBuilder);
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;
        Assert.Equal(MethodImplAttributes.IL, builder.GetMethod(nameof(GroupedDatasetBuilder.AddAll))!.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization);
        foreach (var loop in new[] { "AddAllOwn", "AddAllGeneral" })
            Assert.True((builder.GetMethod(loop, all)!.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) != 0, loop);
    }

    /// <summary>
    /// A build told how much input to expect compiles the writing phase's loops for its columns while it reads (once
    /// a run from the input's second half is spilled); one that spills nothing, or does not know how far it has
    /// read, leaves them to the merge. The dataset is the same either way.
    /// </summary>
    [Theory]
    [InlineData(4, true, true)]
    [InlineData(4, false, false)]
    [InlineData(256, true, false)]
    public void The_writing_loops_are_compiled_while_reading_when_runs_spill_from_the_inputs_second_half(int budgetMb, bool expect, bool ahead)
    {
        using var t = new TempDir();
        var csv = t["in.csv"];
        using (var w = new StreamWriter(csv))
        {
            w.WriteLine("user,n,text");
            var rng = new Random(3);
            for (int i = 0; i < 120_000; i++) w.WriteLine($"u{rng.Next(2000)},{i},some text of row {i}");
        }
        using var b = new GroupedDatasetBuilder(t["ds"], new BuildOptions { Key = Grouper.Keys.KeySpec.FromColumns("user"), MemoryLimit = budgetMb << 20 });
        if (expect) b.ExpectFiles([csv]);
        using (var r = Grouper.Sources.SourceFiles.Open(csv)) b.AddAll(r);
        Assert.Equal(120_000, b.Complete().RecordCount);
        if (!ahead)
        {
            Assert.Empty(b.CompiledAhead);
            return;
        }
        Assert.Equal([typeof(ShardWriter), typeof(ByteArrayChunk), typeof(SnappyEncoder), typeof(MergeStream), typeof(RunReader)], b.CompiledAhead);
    }
}
