// SPDX-License-Identifier: GPL-2.0-only
/*
 * provider_peer: a TLS 1.3 client or server on 127.0.0.1 with the qktls
 * provider loaded and its groups offered the way the agent offers them, for
 * interop tests against stock `openssl s_server` / `s_client` and between
 * two peers.
 *
 *   provider_peer server --cert PEM --key PEM [--groups LIST] [--keys FILE]
 *       listens on 127.0.0.1, a free port, and prints "ACCEPT 127.0.0.1:PORT";
 *       serves one connection: reads a line, answers "pong GROUP".
 *   provider_peer client --port N --ca PEM [--cert PEM --key PEM]
 *                        [--groups LIST] [--keys FILE]
 *       sends "ping", prints the reply line as "REPLY ..."; presents the
 *       certificate when given one.
 * Both print "GROUP name" after the handshake.  FILE holds QKD keys, one
 * per line: 32 hex digits of reference, a space, the key in hex.
 * Exit status 0 on success; errors go to stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <qktls/provider.h>

static int die(const char *what)
{
	fprintf(stderr, "provider_peer: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void load_keys(struct qktls_memkeys *mk, const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (f == NULL)
		die("cannot open the key file");
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned char *ref, *key;
		char *sp = strchr(line, ' ');
		long rlen = 0, klen = 0;

		n++;
		line[strcspn(line, "\n")] = '\0';
		if (sp == NULL)
			die("key file: expected 'REFHEX KEYHEX'");
		*sp = '\0';
		ref = OPENSSL_hexstr2buf(line, &rlen);
		key = OPENSSL_hexstr2buf(sp + 1, &klen);
		if (ref == NULL || key == NULL || rlen != QKTLS_QKD_REF_LEN ||
		    qktls_memkeys_add(mk, ref, key, klen) != 0) {
			fprintf(stderr, "provider_peer: key file line %d: bad reference or key\n", n);
			exit(1);
		}
		OPENSSL_free(ref);
		OPENSSL_clear_free(key, klen);
	}
	OPENSSL_cleanse(line, sizeof(line));
	fclose(f);
}

static int read_line(SSL *ssl, char *buf, size_t size)
{
	size_t len = 0;

	while (len + 1 < size) {
		int n = SSL_read(ssl, buf + len, 1);

		if (n <= 0)
			break;
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = '\0';
	return (int)len;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "groups", required_argument, NULL, 'g' },
		{ "keys", required_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cert = NULL, *key = NULL, *ca = NULL, *groups = NULL;
	const char *keyfile = NULL, *name;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct qktls_qkd_keys kcb;
	struct qktls_memkeys *mk;
	OSSL_LIB_CTX *lib;
	OSSL_PROVIDER *prov;
	SSL_CTX *ctx;
	SSL *ssl;
	int server, port = 0, fd, o;
	char buf[256];

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'a': ca = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'g': groups = optarg; break;
		case 'K': keyfile = optarg; break;
		default: return 2;
		}
	}
	if (optind != argc - 1 ||
	    (strcmp(argv[optind], "server") && strcmp(argv[optind], "client"))) {
		fprintf(stderr, "usage: provider_peer server|client [options]\n");
		return 2;
	}
	server = !strcmp(argv[optind], "server");
	if (server ? (!cert || !key) : (!ca || port <= 0 || port > 65535)) {
		fprintf(stderr, "provider_peer: server needs --cert and --key, client --ca and --port\n");
		return 2;
	}

	/* The agent's setup: own library context, provider, TLS 1.3 only. */
	lib = OSSL_LIB_CTX_new();
	mk = qktls_memkeys_new(server ? "peer-server" : "peer-client");
	if (lib == NULL || mk == NULL)
		die("out of memory");
	if (keyfile)
		load_keys(mk, keyfile);
	qktls_memkeys_bind(mk, &kcb);
	prov = qktls_provider_load(lib, &kcb);
	if (prov == NULL)
		die("cannot load the qktls provider");
	ctx = SSL_CTX_new_ex(lib, NULL, server ? TLS_server_method() :
						 TLS_client_method());
	if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION))
		die("cannot create the TLS context");
	if (!SSL_CTX_set1_groups_list(ctx, groups ? groups : server ?
				      QKTLS_GROUPS_SERVER_DEFAULT :
				      QKTLS_GROUPS_CLIENT_DEFAULT))
		die("bad groups list");
	/* A client presents its certificate when given one (qktlsd's server
	 * links require it under a QKD policy). */
	if (server || (cert && key)) {
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
			die("cannot load the certificate or key");
	}
	if (!server) {
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
			die("cannot load the CA file");
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (server) {
		socklen_t len = sizeof(sa);
		int lfd = fd;

		if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(lfd, 1) ||
		    getsockname(lfd, (struct sockaddr *)&sa, &len))
			die(strerror(errno));
		printf("ACCEPT 127.0.0.1:%d\n", ntohs(sa.sin_port));
		fflush(stdout);
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			die(strerror(errno));
		close(lfd);
	} else {
		sa.sin_port = htons(port);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			die(strerror(errno));
	}

	ssl = SSL_new(ctx);
	if (ssl == NULL || !SSL_set_fd(ssl, fd))
		die("SSL_new");
	if ((server ? SSL_accept(ssl) : SSL_connect(ssl)) != 1)
		die("handshake failed");
	name = SSL_get0_group_name(ssl);
	printf("GROUP %s\n", name ? name : "?");
	fflush(stdout);

	if (server) {
		if (read_line(ssl, buf, sizeof(buf)) <= 0)
			die("no request");
		snprintf(buf, sizeof(buf), "pong %s\n", name ? name : "?");
		if (SSL_write(ssl, buf, strlen(buf)) <= 0)
			die("write failed");
		SSL_shutdown(ssl);
	} else {
		if (SSL_write(ssl, "ping\n", 5) != 5)
			die("write failed");
		if (read_line(ssl, buf, sizeof(buf)) <= 0)
			die("no reply");
		printf("REPLY %s", buf);
		SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	close(fd);
	SSL_CTX_free(ctx);
	qktls_provider_unload(prov);
	OSSL_LIB_CTX_free(lib);
	qktls_memkeys_free(mk);
	return 0;
}
