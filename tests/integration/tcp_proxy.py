"""The loopback proxy tests put in front of a server (shipped for the downtime drill)."""

from labdesk.adapters.net.tcp_proxy import Mode, TcpProxy

__all__ = ["Mode", "TcpProxy"]
