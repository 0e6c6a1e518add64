package dev.nydus4j.testkit.oci;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A Docker token server (RS256 JWT, kid in libtrust form, TESTING.md 2.5) on 127.0.0.1 and an ephemeral port, for a
 * {@link LocalRegistry} started with {@link #registryAuthYaml()}. Grants every requested action (only {@code pull}
 * with {@link #pullOnly}, like read-only credentials); records each request. {@code rejectPost} makes it behave
 * like OAuth2-strict servers.
 */
public final class TokenServer implements AutoCloseable {
    public static final String SERVICE = "nydus4j-test-registry";
    public static final String ISSUER = "nydus4j-test-issuer";

    /** One token request as seen by the server. */
    public record Call(String method, String query, String body, String authorization) {
    }

    public final List<Call> calls = new CopyOnWriteArrayList<>();
    public volatile boolean rejectPost;
    public volatile boolean pullOnly;
    public volatile long expiresInSecs = 300;
    private final HttpServer server;
    private final PrivateKey key;
    private final String kid;
    private final Path cert;

    public TokenServer(Path dir) throws Exception {
        TestCerts.selfSigned(dir, "token-signer");
        cert = dir.resolve("token.crt");
        String pem = Files.readString(dir.resolve("token.key"))
                .replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
        byte[] spki;
        try (InputStream in = Files.newInputStream(cert)) {
            spki = CertificateFactory.getInstance("X.509").generateCertificate(in).getPublicKey().getEncoded();
        }
        kid = libtrustKeyId(spki);
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/token", this::handle);
        server.start();
    }

    public Path certificate() {
        return cert;
    }

    public String realm() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/token";
    }

    /** The {@code auth:} block of a registry config trusting this server. */
    public String registryAuthYaml() {
        return "auth:\n  token:\n    realm: " + realm() + "\n    service: " + SERVICE + "\n    issuer: " + ISSUER
                + "\n    rootcertbundle: " + cert + "\n";
    }

    public long count(String method) {
        return calls.stream().filter(c -> c.method().equals(method)).count();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String query = ex.getRequestURI().getRawQuery() == null ? "" : ex.getRequestURI().getRawQuery();
            calls.add(new Call(ex.getRequestMethod(), query, body, ex.getRequestHeaders().getFirst("Authorization")));
            if (ex.getRequestMethod().equals("POST") && rejectPost) {
                ex.sendResponseHeaders(405, -1);
                return;
            }
            Map<String, List<String>> params = form(ex.getRequestMethod().equals("POST") ? body : query);
            byte[] out = ("{\"token\":\"" + jwt(params.getOrDefault("scope", List.of())) + "\",\"expires_in\":"
                    + expiresInSecs + ",\"issued_at\":\"" + Instant.now() + "\"}").getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, out.length);
            ex.getResponseBody().write(out);
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    private String jwt(List<String> scopes) throws Exception {
        long now = Instant.now().getEpochSecond();
        StringJoiner access = new StringJoiner(",", "[", "]");
        for (String scope : scopes) {
            for (String s : scope.split(" ")) {
                String[] parts = s.split(":");
                if (parts.length == 3) {
                    List<String> actions = new ArrayList<>(Arrays.asList(parts[2].split(",")));
                    if (pullOnly) {
                        actions.retainAll(List.of("pull"));
                    }
                    StringJoiner a = new StringJoiner(",", "[", "]");
                    actions.forEach(x -> a.add(quote(x)));
                    access.add("{\"type\":" + quote(parts[0]) + ",\"name\":" + quote(parts[1]) + ",\"actions\":" + a
                            + "}");
                }
            }
        }
        String header = "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":" + quote(kid) + "}";
        String claims = "{\"iss\":" + quote(ISSUER) + ",\"sub\":\"anonymous\",\"aud\":" + quote(SERVICE) + ",\"exp\":"
                + (now + expiresInSecs) + ",\"nbf\":" + (now - 10) + ",\"iat\":" + now + ",\"jti\":"
                + quote(UUID.randomUUID().toString()) + ",\"access\":" + access + "}";
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String signingInput = b64.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
        Signature sig = Signature.getInstance("SHA256withRSA");
        sig.initSign(key);
        sig.update(signingInput.getBytes(StandardCharsets.US_ASCII));
        return signingInput + "." + b64.encodeToString(sig.sign());
    }

    /** A JSON string; the values here are repository names, actions and ids (no control characters). */
    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** libtrust key id: base32(SHA-256(SPKI)[0:30]) without padding, in 12 groups of 4 joined by ':'. */
    public static String libtrustKeyId(byte[] spki) throws Exception {
        byte[] h = MessageDigest.getInstance("SHA-256").digest(spki);
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        StringBuilder b32 = new StringBuilder();
        int buffer = 0;
        int bits = 0;
        for (int i = 0; i < 30; i++) {
            buffer = (buffer << 8) | (h[i] & 0xff);
            bits += 8;
            while (bits >= 5) {
                b32.append(alphabet.charAt((buffer >> (bits - 5)) & 31));
                bits -= 5;
            }
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < b32.length(); i += 4) {
            if (i > 0) {
                out.append(':');
            }
            out.append(b32, i, i + 4);
        }
        return out.toString();
    }

    /** Form or query parameters; a key may repeat ({@code scope} does when a client asks for two repositories). */
    private static Map<String, List<String>> form(String s) {
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (String kv : s.split("&")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                m.computeIfAbsent(URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8), k -> new ArrayList<>())
                        .add(URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return m;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
