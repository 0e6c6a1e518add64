package dev.nydus4j.backend.registry;

import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A Docker token server (RS256 JWT, kid in libtrust form, TESTING.md 2.5) on an ephemeral port. Grants every
 * requested action; records each request. {@code rejectPost} makes it behave like OAuth2-strict servers.
 */
final class TokenServer implements AutoCloseable {
    static final String SERVICE = "nydus4j-test-registry";
    static final String ISSUER = "nydus4j-test-issuer";

    /** One token request as seen by the server. */
    record Call(String method, String query, String body, String authorization) {
    }

    final List<Call> calls = new CopyOnWriteArrayList<>();
    volatile boolean rejectPost;
    volatile long expiresInSecs = 300;
    private final HttpServer server;
    private final PrivateKey key;
    private final String kid;
    private final Path cert;
    private final ObjectMapper json = new ObjectMapper();

    TokenServer(Path dir) throws Exception {
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

    Path certificate() {
        return cert;
    }

    String realm() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/token";
    }

    /** The {@code auth:} block of a registry config trusting this server. */
    String registryAuthYaml() {
        return "auth:\n  token:\n    realm: " + realm() + "\n    service: " + SERVICE + "\n    issuer: " + ISSUER
                + "\n    rootcertbundle: " + cert + "\n";
    }

    long count(String method) {
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
            Map<String, String> params = form(ex.getRequestMethod().equals("POST") ? body : query);
            byte[] out = json.writeValueAsBytes(Map.of("token", jwt(params.getOrDefault("scope", "")),
                    "expires_in", expiresInSecs, "issued_at", Instant.now().toString()));
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, out.length);
            ex.getResponseBody().write(out);
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    private String jwt(String scope) throws Exception {
        long now = Instant.now().getEpochSecond();
        List<Map<String, Object>> access = new ArrayList<>();
        for (String s : scope.split(" ")) {
            String[] parts = s.split(":");
            if (parts.length == 3) {
                access.add(Map.of("type", parts[0], "name", parts[1], "actions", List.of(parts[2].split(","))));
            }
        }
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("typ", "JWT");
        header.put("alg", "RS256");
        header.put("kid", kid);
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("iss", ISSUER);
        claims.put("sub", "anonymous");
        claims.put("aud", SERVICE);
        claims.put("exp", now + expiresInSecs);
        claims.put("nbf", now - 10);
        claims.put("iat", now);
        claims.put("jti", UUID.randomUUID().toString());
        claims.put("access", access);
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String signingInput = b64.encodeToString(json.writeValueAsBytes(header)) + "."
                + b64.encodeToString(json.writeValueAsBytes(claims));
        Signature sig = Signature.getInstance("SHA256withRSA");
        sig.initSign(key);
        sig.update(signingInput.getBytes(StandardCharsets.US_ASCII));
        return signingInput + "." + b64.encodeToString(sig.sign());
    }

    /** libtrust key id: base32(SHA-256(SPKI)[0:30]) without padding, in 12 groups of 4 joined by ':'. */
    static String libtrustKeyId(byte[] spki) throws Exception {
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

    private static Map<String, String> form(String s) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kv : s.split("&")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                m.put(URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return m;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
