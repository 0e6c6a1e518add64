package dev.nydus4j.fuse;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** A minimal HTTP/1.1 client for a nydusd API socket (used by nydusctl and tests). Thread-safe (stateless). */
public final class ApiClient {
    private static final int MAX_RESPONSE = 16 << 20;
    private final Path socket;
    private final String userAgent;

    /** The status and body of one response. */
    public record Response(int status, String body) {
        public boolean isSuccess() {
            return status >= 200 && status < 300;
        }
    }

    public ApiClient(Path socket, String userAgent) {
        this.socket = socket;
        this.userAgent = userAgent;
    }

    /** Sends one request ({@code body} may be null) and reads the whole response. */
    public Response send(String method, String pathAndQuery, String body) throws IOException {
        byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            try {
                ch.connect(UnixDomainSocketAddress.of(socket));
            } catch (IOException e) {
                throw new IOException("cannot connect to nydusd API socket " + socket + ": " + e.getMessage(), e);
            }
            String head = method + " " + pathAndQuery + " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: " + userAgent
                    + "\r\nConnection: close\r\n" + (body == null ? "" : "Content-Type: application/json\r\n")
                    + "Content-Length: " + b.length + "\r\n\r\n";
            ch.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.ISO_8859_1)));
            ch.write(ByteBuffer.wrap(b));
            byte[] all = Channels.newInputStream(ch).readNBytes(MAX_RESPONSE);
            String text = new String(all, StandardCharsets.UTF_8);
            int eol = text.indexOf("\r\n");
            int sep = text.indexOf("\r\n\r\n");
            if (eol < 0 || sep < 0) {
                throw new IOException("malformed response from " + socket + ": " + text.lines().findFirst().orElse(""));
            }
            String[] status = text.substring(0, eol).split(" ", 3);
            if (status.length < 2) {
                throw new IOException("malformed status line from " + socket + ": " + text.substring(0, eol));
            }
            try {
                return new Response(Integer.parseInt(status[1]), text.substring(sep + 4));
            } catch (NumberFormatException e) {
                throw new IOException("malformed status line from " + socket + ": " + text.substring(0, eol), e);
            }
        }
    }
}
