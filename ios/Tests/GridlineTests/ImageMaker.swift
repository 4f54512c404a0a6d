import CoreGraphics
import Foundation
import ImageIO
import UniformTypeIdentifiers

/// Encodes a plain gray image as JPEG with ImageIO.
enum ImageMaker {
    static func jpeg(width: Int, height: Int) throws -> Data {
        let space = CGColorSpaceCreateDeviceRGB()
        guard let ctx = CGContext(data: nil, width: width, height: height, bitsPerComponent: 8, bytesPerRow: 0,
                                  space: space, bitmapInfo: CGImageAlphaInfo.noneSkipLast.rawValue) else {
            throw NSError(domain: "ImageMaker", code: 1)
        }
        ctx.setFillColor(gray: 0.5, alpha: 1)
        ctx.fill(CGRect(x: 0, y: 0, width: width, height: height))
        ctx.setFillColor(gray: 0.1, alpha: 1)
        ctx.fillEllipse(in: CGRect(x: width / 3, y: height / 3, width: width / 4, height: height / 5))
        guard let image = ctx.makeImage() else { throw NSError(domain: "ImageMaker", code: 2) }
        let data = NSMutableData()
        guard let dest = CGImageDestinationCreateWithData(data, UTType.jpeg.identifier as CFString, 1, nil) else {
            throw NSError(domain: "ImageMaker", code: 3)
        }
        CGImageDestinationAddImage(dest, image, nil)
        guard CGImageDestinationFinalize(dest) else { throw NSError(domain: "ImageMaker", code: 4) }
        return data as Data
    }
}
