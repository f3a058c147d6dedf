/** A Tomcat node as the HAProxy and nginx templates see it. */
export interface Backend {
  route: string;
  port: number;
}
