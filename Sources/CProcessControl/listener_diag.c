#include "process_control.h"

#include <errno.h>

#ifdef __linux__
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// One dump request (NLM_F_DUMP) for the listening TCP sockets of one address family. The port is
// also put in id.idiag_sport, which the kernel compares for listeners (net/ipv4/inet_diag.c); the
// answers are filtered again here, since that comparison is not part of the documented interface.
static int dump_family(int fd, int family, unsigned short port, struct metal_agent_tcp_listener *listeners, int capacity, int *count) {
    struct {
        struct nlmsghdr header;
        struct inet_diag_req_v2 request;
    } message;
    memset(&message, 0, sizeof message);
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    message.header.nlmsg_seq = (unsigned)family;
    message.request.sdiag_family = (unsigned char)family;
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = 1u << TCP_LISTEN;
    message.request.id.idiag_sport = htons(port);
    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof kernel);
    kernel.nl_family = AF_NETLINK;
    ssize_t sent;
    do {
        sent = sendto(fd, &message, sizeof message, 0, (struct sockaddr *)&kernel, sizeof kernel);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) return -1;
    // 16 KiB holds about a hundred answers per read; a dump spans as many reads as it needs. (On the
    // stack: the guard links this file too, and a static executable without start files has no TLS.)
    long buffer[16384 / sizeof(long)];
    for (;;) {
        ssize_t length;
        do {
            length = recv(fd, buffer, sizeof buffer, 0);
        } while (length < 0 && errno == EINTR);
        if (length < 0) return -1;
        if (length == 0) { errno = EPROTO; return -1; }
        struct nlmsghdr *answer = (struct nlmsghdr *)buffer;
        for (int left = (int)length; NLMSG_OK(answer, left); answer = NLMSG_NEXT(answer, left)) {
            if (answer->nlmsg_type == NLMSG_DONE) return 0;
            if (answer->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *error = NLMSG_DATA(answer);
                errno = error->error < 0 ? -error->error : EPROTO;
                return -1;
            }
            if (answer->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
            if (answer->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg))) continue;
            struct inet_diag_msg *socket_info = NLMSG_DATA(answer);
            if (ntohs(socket_info->id.idiag_sport) != port || socket_info->idiag_state != TCP_LISTEN) continue;
            if (*count < capacity) {
                struct metal_agent_tcp_listener *listener = &listeners[*count];
                memset(listener, 0, sizeof *listener);
                listener->inode = socket_info->idiag_inode;
                listener->family = socket_info->idiag_family;
                memcpy(listener->address, socket_info->id.idiag_src, family == AF_INET ? 4 : 16);
                // An IPv6 listener says whether it is IPv6-only (INET_DIAG_SKV6ONLY, sent for every
                // listening socket since Linux 2.6.x's inet6 diag); without it, assume dual-stack.
                struct rtattr *attribute = (struct rtattr *)(socket_info + 1);
                int rest = (int)answer->nlmsg_len - (int)NLMSG_LENGTH(sizeof *socket_info);
                for (; RTA_OK(attribute, rest); attribute = RTA_NEXT(attribute, rest)) {
                    if (attribute->rta_type == INET_DIAG_SKV6ONLY && RTA_PAYLOAD(attribute) >= 1)
                        listener->v6only = *(unsigned char *)RTA_DATA(attribute);
                }
            }
            *count += 1;
        }
    }
}

int metal_agent_tcp_listeners(int port, struct metal_agent_tcp_listener *listeners, int capacity) {
    if (port <= 0 || port > 65535 || capacity < 0) { errno = EINVAL; return -1; }
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return -1;
    int count = 0;
    int rc = dump_family(fd, AF_INET, (unsigned short)port, listeners, capacity, &count);
    if (rc == 0) rc = dump_family(fd, AF_INET6, (unsigned short)port, listeners, capacity, &count);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc == 0 ? count : -1;
}

#else

int metal_agent_tcp_listeners(int port, struct metal_agent_tcp_listener *listeners, int capacity) {
    (void)port; (void)listeners; (void)capacity;
    errno = ENOSYS;
    return -1;
}

#endif
