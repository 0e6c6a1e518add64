package dev.nydus4j.cli.image;

import picocli.CommandLine;

/** Integer option values in decimal or {@code 0x} hex, as upstream accepts them (API spec 4). */
final class SizeConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        return parse(value);
    }

    static long parse(String value) {
        String v = value.trim();
        try {
            if (v.startsWith("0x") || v.startsWith("0X")) {
                return Long.parseUnsignedLong(v.substring(2), 16);
            }
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException(
                    "invalid number '" + value + "': expected decimal or 0x-prefixed hex");
        }
    }

    /** Checks a chunk or batch size: a power of two in [0x1000, 0x1000000]. */
    static int chunkSize(String option, long v) {
        if (v < 0x1000 || v > 0x1000000 || Long.bitCount(v) != 1) {
            throw new IllegalArgumentException(String.format(
                    "invalid %s 0x%x: must be a power of two between 0x1000 and 0x1000000", option, v));
        }
        return (int) v;
    }
}
