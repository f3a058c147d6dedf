/** A balancer member (a Tomcat node or a static server port) as the HAProxy and nginx templates see it. */
export interface Backend {
  route: string;
  port: number;
}
