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
}
