// `address:port`, with an IPv6 address in brackets (`[::1]:8080`), as URLs and logs write it.
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
