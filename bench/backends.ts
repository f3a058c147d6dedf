/** A balancer member (a Tomcat node or a static server port) as the HAProxy and nginx templates see it. */
export interface Backend {
  route: string;
  port: number;
}

/** What every peer balancer of the bench is started with. */
export interface PeerOptions {
  port: number;
  certFile: string;
  keyFile: string;
  backends: Backend[];
  dir: string;
  /** Offer HTTP/2 to clients through ALPN (the members are still spoken to in HTTP/1.1). */
  h2?: boolean;
  /** Client connections to hold at once when more than the default 4096 (the idle-connection measurement). */
  maxConnections?: number;
}

export const DEFAULT_MAX_CONNECTIONS = 4096;
