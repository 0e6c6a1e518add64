package dev.nydus4j.testkit.oci;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A self-signed CA and a server certificate for 127.0.0.1 / localhost made with openssl (TESTING.md 2.6).
 *
 * @param caCert     the CA certificate (PEM), what clients trust
 * @param serverCert the server certificate signed by the CA
 * @param serverKey  its key
 */
public record TestCerts(Path caCert, Path serverCert, Path serverKey) {

    public static TestCerts create(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        run(dir, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
                "-days", "2", "-subj", "/CN=nydus4j-test-ca", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        run(dir, "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
                "-subj", "/CN=127.0.0.1");
        Files.writeString(dir.resolve("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                + "extendedKeyUsage=serverAuth\n");
        run(dir, "openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf");
        return new TestCerts(dir.resolve("ca.crt"), dir.resolve("server.crt"), dir.resolve("server.key"));
    }

    /** A self-signed certificate and key ({@code token.crt}, {@code token.key}; for a token signer). */
    public static void selfSigned(Path dir, String cn) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        run(dir, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "token.key", "-out",
                "token.crt", "-days", "2", "-subj", "/CN=" + cn);
    }

    /** The {@code http:} lines of a registry config serving TLS with the server certificate. */
    public String registryTlsYaml() {
        return "  tls: {certificate: " + serverCert + ", key: " + serverKey + "}\n";
    }

    static void run(Path dir, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(cmd)).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
    }
}
