/**
 * The {@code nydusify} command line (picocli): {@link dev.nydus4j.convert.cli.NydusifyCommand#execute} with the
 * subcommands {@code convert} and {@code check} and upstream's flags (API spec 5.1, 5.2).
 */
package dev.nydus4j.convert.cli;
