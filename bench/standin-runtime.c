// A stand-in runtime for benchmarks: binds --host (default 127.0.0.1) and --port, answers every request
// with 200 "ok" and closes the connection; ignores every other flag (llama-server's --model, ...).
// The same binary serves metal-agent and supervisord in bench/vs_supervisord.py.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int port = 0;
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--port") == 0) port = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--host") == 0) host = argv[i + 1];
    }
    if (port <= 0) { fprintf(stderr, "standin: --port is required\n"); return 2; }
    signal(SIGPIPE, SIG_IGN);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    inet_pton(AF_INET, host, &addr.sin_addr);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 64) != 0) { perror("standin: bind"); return 1; }
    static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    char buffer[4096];
    for (;;) {
        int client = accept(fd, NULL, NULL);
        if (client < 0) continue;
        // Read until the end of the request head (or the peer stops sending).
        size_t have = 0;
        for (;;) {
            ssize_t n = read(client, buffer + have, sizeof buffer - 1 - have);
            if (n <= 0) break;
            have += (size_t)n;
            buffer[have] = 0;
            if (strstr(buffer, "\r\n\r\n") || have >= sizeof buffer - 1) break;
        }
        (void)!write(client, reply, sizeof reply - 1);
        close(client);
    }
}
